using Quiver.Engine.Query;
using Quiver.Segment.Errors;
using Quiver.Segment.Filtering;
using Quiver.Segment.Points;

namespace Quiver.Engine.Collections;

/// <summary>
/// Discovery and context search. Both score each candidate by an objective over its similarities to example
/// vectors; the candidates are the prefetched points or, without prefetches, every point passing the filter,
/// scored exactly a page at a time (as Qdrant's exact mode does; its graph walk is an approximation of this).
/// </summary>
public sealed partial class Collection
{
    /// <summary>
    /// Qdrant's margin in a context pair's loss (f32::EPSILON, the gap between 1 and the next float): a point
    /// equally close to both sides counts as on the negative side.
    /// </summary>
    private const float ContextMargin = 1.1920929E-07f;

    private StageResult Discover(QueryStage stage, DiscoverStage discover, Filter? filter, List<PointId>? candidates, CancellationToken cancellationToken)
    {
        var space = DenseSpace(stage.Using, "discover");
        var examples = new HashSet<PointId>();
        var target = Examples(space, [discover.Target], examples, normalise: true)[0];
        var pairs = ContextVectors(space, discover.Context, examples);
        float Objective(float[] vector)
        {
            var rank = 0;
            foreach (var (positive, negative) in pairs)
                rank += Similarity(space.Distance, positive, vector) > Similarity(space.Distance, negative, vector) ? 1 : -1;
            return rank + ScaledSigmoid(Similarity(space.Distance, target, vector));
        }

        return ScoreByObjective(stage, space, filter, candidates, examples, Objective, cancellationToken);
    }

    private StageResult Context(QueryStage stage, ContextStage context, Filter? filter, List<PointId>? candidates, CancellationToken cancellationToken)
    {
        var space = DenseSpace(stage.Using, "context");
        if (context.Pairs.Count == 0)
            throw QuiverException.BadInput("query.context: give at least one {positive, negative} pair");
        var examples = new HashSet<PointId>();
        var pairs = ContextVectors(space, context.Pairs, examples);
        float Objective(float[] vector)
        {
            var loss = 0f;
            foreach (var (positive, negative) in pairs)
            {
                var difference = Similarity(space.Distance, positive, vector) - Similarity(space.Distance, negative, vector) - ContextMargin;
                var clipped = MathF.Min(difference, 0);
                loss += clipped / (1 + MathF.Abs(clipped));
            }

            return loss;
        }

        return ScoreByObjective(stage, space, filter, candidates, examples, Objective, cancellationToken);
    }

    private List<(float[] Positive, float[] Negative)> ContextVectors(VectorSpace space, IReadOnlyList<ContextPair> pairs, HashSet<PointId> examples) =>
        [.. pairs.Select(p => (Examples(space, [p.Positive], examples, normalise: true)[0], Examples(space, [p.Negative], examples, normalise: true)[0]))];

    /// <summary>
    /// The best <c>limit</c> of the candidates (or of every point passing <paramref name="filter"/>, a page at a
    /// time) by <paramref name="objective"/>, examples left out, ties by id, the stage's threshold applied.
    /// </summary>
    private StageResult ScoreByObjective(
        QueryStage stage, VectorSpace space, Filter? filter, List<PointId>? candidates, HashSet<PointId> examples, Func<float[], float> objective, CancellationToken cancellationToken)
    {
        var kept = new List<RankedPoint>();
        void Keep(IEnumerable<PointId> ids)
        {
            foreach (var (id, vector) in StoredVectors([.. ids.Where(id => !examples.Contains(id))], space))
                kept.Add(new RankedPoint(id, objective(vector)));
            kept.Sort((a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Id.CompareTo(b.Id));
            if (stage.ScoreThreshold is { } threshold)
                kept.RemoveAll(p => p.Score < threshold);
            if (kept.Count > stage.Limit)
                kept.RemoveRange(stage.Limit, kept.Count - stage.Limit);
        }

        if (candidates is not null)
        {
            Keep(candidates);
            return new StageResult(kept, null);
        }

        const int page = 4096;
        var withoutExamples = examples.Count == 0 ? filter : Both(filter, new Filter(mustNot: [new HasIdCondition(examples)]));
        PointId? from = null;
        do
        {
            cancellationToken.ThrowIfCancellationRequested();
            var ids = Scroll(new ScrollRequest(withoutExamples, from, page, null, WithPayload.None, WithVector.None));
            Keep(ids.Points.Select(p => p.Id));
            from = ids.NextPageOffset;
        }
        while (from is not null);
        return new StageResult(kept, null);
    }

    /// <summary>Points in payload order (<c>order_by</c>), over the collection or the prefetched candidates; scores are 0.</summary>
    private StageResult OrderedStage(QueryStage stage, OrderByStage order, Filter? filter, List<PointId>? candidates)
    {
        if (stage.Limit == 0)
            return new StageResult([], null);
        var within = candidates is null ? filter : Both(filter, new Filter(must: [new HasIdCondition(candidates.ToHashSet())]));
        var page = Scroll(new ScrollRequest(within, null, stage.Limit, order.OrderBy, WithPayload.None, WithVector.None));
        // A point with several values of the key comes once per value: it is ranked at its first.
        return new StageResult([.. page.Points.Select(p => p.Id).Distinct().Select(id => new RankedPoint(id, 0))], null);
    }
}
