using Quiver.Engine.Query;
using Quiver.Segment.Errors;
using Quiver.Segment.Filtering;
using Quiver.Segment.Points;

namespace Quiver.Engine.Collections;

public sealed partial class Collection
{
    /// <summary>Each positive example's search fetches this many times the stage's limit as candidates for a custom objective.</summary>
    private const int RecommendCandidateFactor = 4;

    /// <summary>
    /// A recommend stage: over <paramref name="candidates"/> (prefetched points) or, without them, the collection.
    /// average_vector is one search (or rescoring) with the combined vector; best_score and sum_scores score each
    /// candidate against every example. Without prefetches those candidates are the union of a search per positive
    /// example, or every point passing the filter when the stage is exact or has no positive example.
    /// </summary>
    private StageResult Recommend(QueryStage stage, RecommendStage recommend, Filter? filter, List<PointId>? candidates, CancellationToken cancellationToken)
    {
        var space = Config.FindSpace(stage.Using) ?? throw MissingVectorName(stage.Using);
        if (recommend.Positive.Count == 0 && (recommend.Negative.Count == 0 || recommend.Strategy == RecommendStrategy.AverageVector))
            throw QuiverException.BadInput("query.recommend: give at least one positive example (best_score and sum_scores also take negatives alone)");
        var examples = new HashSet<PointId>();
        var positive = Examples(space, recommend.Positive, examples);
        var negative = Examples(space, recommend.Negative, examples);
        var withoutExamples = examples.Count == 0 ? filter : Both(filter, new Filter(mustNot: [new HasIdCondition(examples)]));

        if (recommend.Strategy == RecommendStrategy.AverageVector)
        {
            var query = AverageVector(positive, negative);
            if (candidates is not null)
                return Rescore(stage, new NearestQuery(query, null), [.. candidates.Where(id => !examples.Contains(id))]);
            return Leaf(stage with { Query = new NearestStage(new NearestQuery(query, null)) }, withoutExamples, cancellationToken);
        }

        if (candidates is null)
        {
            candidates = [];
            if (stage.Exact || positive.Count == 0)
            {
                PointId? from = null;
                do
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var page = Scroll(new ScrollRequest(withoutExamples, from, MaxLimit, null, WithPayload.None, WithVector.None));
                    candidates.AddRange(page.Points.Select(p => p.Id));
                    from = page.NextPageOffset;
                }
                while (from is not null);
            }
            else
            {
                var wanted = (int)Math.Min(MaxLimit, (long)Math.Max(stage.Limit, 16) * RecommendCandidateFactor);
                foreach (var example in positive)
                {
                    var hits = Search(
                        new SearchRequest(new NearestQuery(example, null), stage.Using, withoutExamples, wanted, 0, null, WithPayload.None, WithVector.None, false, stage.HnswEf, stage.IndexedOnly, stage.Quantization),
                        cancellationToken);
                    candidates.AddRange(hits.Select(h => h.Id));
                }

                candidates = [.. candidates.Distinct()];
            }
        }

        var scored = new List<RankedPoint>(candidates.Count);
        foreach (var record in Get([.. candidates.Where(id => !examples.Contains(id))], WithPayload.None, new WithVector(true, [space.Name])))
        {
            if (record.Vectors?.FirstOrDefault(v => v.Name == space.Name) is not { } vector)
                continue;
            scored.Add(new RankedPoint(record.Id, Objective(space.Distance, recommend.Strategy, vector.Values, positive, negative)));
        }

        scored.Sort((a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Id.CompareTo(b.Id));
        if (stage.ScoreThreshold is { } threshold)
            scored.RemoveAll(p => p.Score < threshold);
        return new StageResult(scored.Count > stage.Limit ? scored[..stage.Limit] : scored, null);
    }

    /// <summary>Example vectors as stored (Cosine normalised); points given as examples are added to <paramref name="ids"/>.</summary>
    private List<float[]> Examples(VectorSpace space, IReadOnlyList<NearestQuery> inputs, HashSet<PointId> ids)
    {
        var vectors = new List<float[]>(inputs.Count);
        foreach (var input in inputs)
        {
            var vector = new float[space.Dimension];
            if (input.PointId is { } id)
            {
                CopyStoredVector(id, space, vector);
                ids.Add(id);
            }
            else
            {
                PrepareQuery(space, input.Vector!, vector).CopyTo(vector);
            }

            vectors.Add(vector);
        }

        return vectors;
    }

    /// <summary><c>avg(positive) + avg(positive) - avg(negative)</c>, or the positives' average alone.</summary>
    private static float[] AverageVector(List<float[]> positive, List<float[]> negative)
    {
        var dim = positive[0].Length;
        var average = new float[dim];
        foreach (var p in positive)
        {
            for (var i = 0; i < dim; i++)
                average[i] += p[i] / positive.Count;
        }

        if (negative.Count == 0)
            return average;
        var query = new float[dim];
        for (var i = 0; i < dim; i++)
        {
            var negativeAverage = 0f;
            foreach (var n in negative)
                negativeAverage += n[i] / negative.Count;
            query[i] = average[i] + average[i] - negativeAverage;
        }

        return query;
    }

    /// <summary>A candidate's score under best_score or sum_scores, from its similarities (higher is closer) to the examples.</summary>
    private static float Objective(Distance distance, RecommendStrategy strategy, float[] vector, List<float[]> positive, List<float[]> negative)
    {
        float SimilarTo(float[] example) => Similarity(distance, example, vector);

        if (strategy == RecommendStrategy.SumScores)
            return positive.Sum(SimilarTo) - negative.Sum(SimilarTo);
        var bestPositive = positive.Count == 0 ? float.NegativeInfinity : positive.Max(SimilarTo);
        var bestNegative = negative.Count == 0 ? float.NegativeInfinity : negative.Max(SimilarTo);
        return bestPositive > bestNegative ? bestPositive : -(bestNegative * bestNegative);
    }
}
