using Quiver.Engine.Query;
using Quiver.Kernels;
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
        var space = DenseSpace(stage.Using, "recommend");
        if (recommend.Positive.Count == 0 && (recommend.Negative.Count == 0 || recommend.Strategy == RecommendStrategy.AverageVector))
            throw QuiverException.BadInput("query.recommend: give at least one positive example (best_score and sum_scores also take negatives alone)");
        var examples = new HashSet<PointId>();
        // average_vector averages the examples as given (stored vectors are normalised already for Cosine); the
        // search normalises the result. The other strategies compare each example as a query would.
        var normalise = recommend.Strategy != RecommendStrategy.AverageVector;
        var positive = Examples(space, recommend.Positive, examples, normalise);
        var negative = Examples(space, recommend.Negative, examples, normalise);
        var withoutExamples = examples.Count == 0 ? filter : Both(filter, new Filter(mustNot: [new HasIdCondition(examples)]));

        if (recommend.Strategy == RecommendStrategy.AverageVector)
        {
            var query = AverageVector(positive, negative);
            if (candidates is not null)
                return Rescore(stage, new NearestQuery(query, null), [.. candidates.Where(id => !examples.Contains(id))]);
            return Leaf(stage with { Query = new NearestStage(new NearestQuery(query, null)) }, withoutExamples, cancellationToken);
        }

        if (candidates is null && (stage.Exact || positive.Count == 0))
            return RecommendOverAll(stage, recommend, space, withoutExamples, positive, negative, cancellationToken);
        if (candidates is null)
        {
            candidates = [];
            var wanted = (int)Math.Min(MaxLimit, (long)Math.Max(stage.Limit, 16) * RecommendCandidateFactor);
            var searches = new List<float[]>(positive);
            // sum_scores is a search in disguise where the metric allows: for Dot and Cosine the sum of similarities
            // is the similarity to Σp - Σn; for Euclid with more positives, closeness to (Σp - Σn) / (P - N).
            if (recommend.Strategy == RecommendStrategy.SumScores && SumScoresTarget(space.Distance, positive, negative) is { } target)
                searches.Add(target);
            foreach (var example in searches)
            {
                var hits = Search(
                    new SearchRequest(new NearestQuery(example, null), stage.Using, withoutExamples, wanted, 0, null, WithPayload.None, WithVector.None, false, stage.HnswEf, stage.IndexedOnly, stage.Quantization),
                    cancellationToken);
                candidates.AddRange(hits.Select(h => h.Id));
            }

            candidates = [.. candidates.Distinct()];
        }

        var scored = ScoreCandidates(space, recommend.Strategy, candidates.Where(id => !examples.Contains(id)).ToList(), positive, negative);
        scored.Sort((a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Id.CompareTo(b.Id));
        if (stage.ScoreThreshold is { } threshold)
            scored.RemoveAll(p => p.Score < threshold);
        return new StageResult(scored.Count > stage.Limit ? scored[..stage.Limit] : scored, null);
    }

    /// <summary>
    /// best_score or sum_scores over every point passing the filter (exact, or negatives only), a page at a time:
    /// only the page's vectors and the best <c>limit</c> so far are held.
    /// </summary>
    private StageResult RecommendOverAll(QueryStage stage, RecommendStage recommend, VectorSpace space, Filter? filter, List<float[]> positive, List<float[]> negative, CancellationToken cancellationToken)
    {
        const int page = 4096;
        var kept = new List<RankedPoint>();
        PointId? from = null;
        do
        {
            cancellationToken.ThrowIfCancellationRequested();
            var ids = Scroll(new ScrollRequest(filter, from, page, null, WithPayload.None, WithVector.None));
            kept.AddRange(ScoreCandidates(space, recommend.Strategy, [.. ids.Points.Select(p => p.Id)], positive, negative));
            kept.Sort((a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Id.CompareTo(b.Id));
            if (stage.ScoreThreshold is { } threshold)
                kept.RemoveAll(p => p.Score < threshold);
            if (kept.Count > stage.Limit)
                kept.RemoveRange(stage.Limit, kept.Count - stage.Limit);
            from = ids.NextPageOffset;
        }
        while (from is not null);
        return new StageResult(kept, null);
    }

    private List<RankedPoint> ScoreCandidates(VectorSpace space, RecommendStrategy strategy, List<PointId> candidates, List<float[]> positive, List<float[]> negative)
    {
        return [.. StoredVectors(candidates, space).Select(p => new RankedPoint(p.Id, Objective(space.Distance, strategy, p.Vector, positive, negative)))];
    }

    /// <summary>The vector whose nearest points are the best by sum_scores, where one exists.</summary>
    private static float[]? SumScoresTarget(Distance distance, List<float[]> positive, List<float[]> negative)
    {
        if (distance == Distance.Manhattan || (distance == Distance.Euclid && positive.Count <= negative.Count))
            return null;
        var target = new float[positive[0].Length];
        foreach (var p in positive)
        {
            for (var i = 0; i < target.Length; i++)
                target[i] += p[i];
        }

        foreach (var n in negative)
        {
            for (var i = 0; i < target.Length; i++)
                target[i] -= n[i];
        }

        if (distance == Distance.Euclid)
        {
            for (var i = 0; i < target.Length; i++)
                target[i] /= positive.Count - negative.Count;
        }

        // A zero vector cannot be searched with Cosine (nothing to normalise): the positives' searches suffice.
        return target.All(v => v == 0) ? null : target;
    }

    /// <summary>
    /// Example vectors: points' stored vectors, and given vectors checked (and for Cosine normalised when
    /// <paramref name="normalise"/>); points given as examples are added to <paramref name="ids"/>.
    /// </summary>
    private List<float[]> Examples(VectorSpace space, IReadOnlyList<NearestQuery> inputs, HashSet<PointId> ids, bool normalise)
    {
        var vectors = new List<float[]>(inputs.Count);
        foreach (var input in inputs)
        {
            if (input.Sparse is not null)
                throw SparseQueryOnDense(space.Name);
            if (input.Multi is not null)
                throw MultiQueryOnSingle(space.Name);
            var vector = new float[space.Dimension];
            if (input.PointId is { } id)
            {
                CopyStoredVector(id, space, vector);
                ids.Add(id);
            }
            else if (normalise)
            {
                PrepareQuery(space, input.Vector!, vector).CopyTo(vector);
            }
            else
            {
                if (input.Vector!.Length != space.Dimension)
                    throw DimensionError(space.Dimension, input.Vector.Length);
                if (!VectorMath.AllFinite(input.Vector))
                    throw QuiverException.BadInput("query.recommend: an example vector contains NaN or Infinity");
                input.Vector.CopyTo(vector);
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
        // Qdrant's: both squashed into (0, 1) by a fast sigmoid, so the order holds for negative similarities too.
        return bestPositive > bestNegative ? ScaledSigmoid(bestPositive) : -ScaledSigmoid(bestNegative);
    }

    /// <summary><c>0.5 · (x / (1 + |x|) + 1)</c>: increasing, from 0 to 1.</summary>
    private static float ScaledSigmoid(float x) => 0.5f * ((x / (1 + MathF.Abs(x))) + 1);
}
