using Quiver.Segment.Errors;
using Quiver.Segment.Points;

namespace Quiver.Engine.Query;

/// <summary>A point a stage ranked, with its score on a scale where higher is better.</summary>
public readonly record struct RankedPoint(PointId Id, float Score);

/// <summary>
/// Fusion of ranked lists, with Qdrant's formulas so fused scores match: reciprocal rank fusion (Cormack et al.,
/// SIGIR 2009) gives a point at 0-based position p of a list with weight w the score <c>1 / ((p + 1) / w + k - 1)</c>,
/// which is <c>1 / (p + k)</c> at weight 1; distribution-based score fusion maps each list's scores onto
/// [mean - 3σ, mean + 3σ] (sample deviation) as [0, 1], a lone score to 0.5. Both sum a point's scores over the
/// lists. Ties are ordered by id, so results are repeatable.
/// </summary>
public static class Fusion
{
    /// <summary>Qdrant's default k: the first place of one list scores 1/2.</summary>
    public const int DefaultRrfK = 2;

    public static List<RankedPoint> Rrf(IReadOnlyList<IReadOnlyList<RankedPoint>> lists, int k, IReadOnlyList<float>? weights)
    {
        if (k < 1)
            throw QuiverException.BadInput("query.rrf.k: expected an integer of at least 1");
        if (weights is not null && weights.Count != lists.Count)
            throw QuiverException.BadInput($"query.rrf.weights: {weights.Count} weights for {lists.Count} prefetches; give one per prefetch");
        var scores = new Dictionary<PointId, float>();
        for (var l = 0; l < lists.Count; l++)
        {
            var weight = weights?[l] ?? 1f;
            if (!float.IsFinite(weight))
                throw QuiverException.BadInput($"query.rrf.weights[{l}]: expected a finite number");
            var list = lists[l];
            for (var p = 0; p < list.Count; p++)
            {
                // A weight of 0 or less adds nothing (as in Qdrant), but the point is still among the candidates.
                var score = weight <= 0 ? 0f : 1f / (((p + 1) / weight) + k - 1);
                scores[list[p].Id] = scores.GetValueOrDefault(list[p].Id) + score;
            }
        }

        return Sorted(scores);
    }

    public static List<RankedPoint> Dbsf(IReadOnlyList<IReadOnlyList<RankedPoint>> lists)
    {
        var scores = new Dictionary<PointId, float>();
        foreach (var list in lists)
        {
            var (low, high) = Extremes(list);
            foreach (var point in list)
            {
                var normalised = high == low ? 0.5f : (point.Score - low) / (high - low);
                scores[point.Id] = scores.GetValueOrDefault(point.Id) + normalised;
            }
        }

        return Sorted(scores);
    }

    /// <summary>mean ∓ 3 sample standard deviations (Welford's one pass); equal for fewer than two scores.</summary>
    private static (float Low, float High) Extremes(IReadOnlyList<RankedPoint> list)
    {
        if (list.Count < 2)
            return (0f, 0f);
        double mean = 0, aggregate = 0;
        for (var i = 0; i < list.Count; i++)
        {
            var before = list[i].Score - mean;
            mean += before / (i + 1);
            aggregate += before * (list[i].Score - mean);
        }

        var deviation = Math.Sqrt(aggregate / (list.Count - 1));
        return ((float)(mean - (3 * deviation)), (float)(mean + (3 * deviation)));
    }

    private static List<RankedPoint> Sorted(Dictionary<PointId, float> scores)
    {
        var result = scores.Select(p => new RankedPoint(p.Key, p.Value)).ToList();
        result.Sort((a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Id.CompareTo(b.Id));
        return result;
    }
}
