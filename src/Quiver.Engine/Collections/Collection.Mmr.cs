using Quiver.Engine.Query;
using Quiver.Segment.Errors;

namespace Quiver.Engine.Collections;

public sealed partial class Collection
{
    /// <summary>Qdrant's bound on MMR candidates: the pairwise similarities grow with its square.</summary>
    public const int MaxMmrCandidates = 16_384;

    /// <summary>
    /// Picks up to the stage's limit of <paramref name="found"/> (best first, internal scores: the relevance) by
    /// maximal marginal relevance over the candidates' stored vectors of the stage's space; the first pick is the
    /// most relevant. Ties go to the lower id. Candidates without that vector drop out. The candidates are the first
    /// <c>candidates_limit</c> found (the stage's limit without it), as in Qdrant, whether searched or prefetched.
    /// </summary>
    private StageResult Diversify(QueryStage stage, StageResult found, Mmr mmr)
    {
        if (mmr.Diversity is < 0 or > 1 || float.IsNaN(mmr.Diversity))
            throw QuiverException.BadInput("query.mmr.diversity: expected a number from 0 to 1");
        if (stage.Limit == 0)
            return found with { Points = [] };
        var space = DenseSpace(stage.Using, "mmr");
        var pool = found.Points.Take(Math.Min(MaxMmrCandidates, MmrCandidates(stage, mmr))).ToList();
        var vectors = StoredVectors([.. pool.Select(p => p.Id)], space).ToDictionary(p => p.Id, p => p.Vector);
        pool.RemoveAll(p => !vectors.ContainsKey(p.Id));
        if (pool.Count < 2)
            return found with { Points = pool.Count > stage.Limit ? pool[..stage.Limit] : pool };

        var lambda = 1f - mmr.Diversity;
        // Highest similarity of each remaining candidate to any picked one, updated as each is picked.
        var closest = new float[pool.Count];
        Array.Fill(closest, float.NegativeInfinity);
        var picked = new bool[pool.Count];
        var result = new List<RankedPoint>(Math.Min(stage.Limit, pool.Count));
        var next = 0; // the most relevant: the pool is best first
        while (true)
        {
            picked[next] = true;
            result.Add(pool[next]);
            if (result.Count >= stage.Limit || result.Count == pool.Count)
                break;
            var chosen = vectors[pool[next].Id];
            var best = -1;
            var bestScore = float.NegativeInfinity;
            for (var i = 0; i < pool.Count; i++)
            {
                if (picked[i])
                    continue;
                closest[i] = Math.Max(closest[i], Similarity(space.Distance, chosen, vectors[pool[i].Id]));
                var score = (lambda * pool[i].Score) - ((1 - lambda) * closest[i]);
                if (best < 0 || score > bestScore || (score == bestScore && pool[i].Id.CompareTo(pool[best].Id) < 0))
                {
                    best = i;
                    bestScore = score;
                }
            }

            next = best;
        }

        return found with { Points = result };
    }

    /// <summary>How many of the nearest points MMR picks from: candidates_limit, or the stage's limit.</summary>
    private static int MmrCandidates(QueryStage stage, Mmr mmr) => mmr.CandidatesLimit ?? stage.Limit;
}
