using Quiver.Engine.Query;
using Quiver.Kernels;
using Quiver.Segment.Errors;
using Quiver.Segment.Filtering;
using Quiver.Segment.Points;

namespace Quiver.Engine.Collections;

public sealed partial class Collection
{
    /// <summary>Prefetches may nest this deep (as in Qdrant); deeper is refused rather than recursed into.</summary>
    public const int MaxQueryDepth = 64;

    /// <summary>
    /// A universal query: <paramref name="root"/>'s stages run depth first (prefetches, then the query over what they
    /// found), and the top <c>root.Limit</c> after <paramref name="offset"/> are returned with their payloads and
    /// vectors. Scores are the API's: a search or rescoring stage reports its metric's score, a fusion stage its
    /// fused score.
    /// </summary>
    public IReadOnlyList<ScoredRecord> Query(QueryStage root, int offset, WithPayload withPayload, WithVector withVector, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(root);
        if (offset < 0 || offset > MaxLimit)
            throw QuiverException.BadInput($"offset: expected an integer from 0 to {MaxLimit}");

        // A lone nearest stage is a plain search: its scores, order and materialisation are the search's own.
        if (root.Prefetch.Count == 0 && root.Query is NearestStage { Mmr: null } nearest)
        {
            return Search(
                new SearchRequest(nearest.Nearest, root.Using, root.Filter, root.Limit, offset, root.ScoreThreshold, withPayload, withVector, root.Exact, root.HnswEf, root.IndexedOnly, root.Quantization),
                cancellationToken);
        }

        // As in Qdrant, a point a query names (nearest to a point, a recommendation example) is left out of every
        // stage, so no prefetch spends its limit on a point the request will not return.
        var named = new HashSet<PointId>();
        CollectNamedPoints(root, named);
        var filter = named.Count == 0 ? null : new Filter(mustNot: [new HasIdCondition(named)]);
        // Qdrant ignores the offset of a random sample of the collection: a page of a random order means nothing.
        if (root is { Query: SampleStage, Prefetch.Count: 0 })
            offset = 0;
        var ranked = Run(root with { Limit = checked(root.Limit + offset) }, filter, 0, cancellationToken);
        var page = ranked.Points.Skip(offset).ToList();
        var records = Get([.. page.Select(p => p.Id)], withPayload, withVector).ToDictionary(r => r.Id);
        var result = new List<ScoredRecord>(page.Count);
        foreach (var point in page)
        {
            // A point deleted since it was ranked is left out rather than returned without its data.
            if (records.TryGetValue(point.Id, out var record))
                result.Add(new ScoredRecord(point.Id, 0, ranked.External(point.Score), record.Payload, record.Vectors));
        }

        return result;
    }

    /// <summary>A stage's points best first; <see cref="Metric"/> converts their scores to the API's (null: as they are).</summary>
    private sealed record StageResult(List<RankedPoint> Points, Distance? Metric)
    {
        public float External(float score) => Metric is { } metric ? metric.ToExternal(score) : score;
    }

    private StageResult Run(QueryStage stage, Filter? inherited, int depth, CancellationToken cancellationToken)
    {
        if (depth > MaxQueryDepth)
            throw QuiverException.BadInput($"prefetch: nested more than {MaxQueryDepth} deep");
        // The root's limit includes the offset, each checked on its own by the caller.
        if (stage.Limit < 0 || stage.Limit > (depth == 0 ? 2 * MaxLimit : MaxLimit))
            throw QuiverException.BadInput($"limit: expected an integer from 0 to {MaxLimit}");
        cancellationToken.ThrowIfCancellationRequested();
        var filter = Both(inherited, stage.Filter);
        if (stage.Prefetch.Count == 0)
            return Leaf(stage, filter, cancellationToken);

        var children = new List<StageResult>(stage.Prefetch.Count);
        foreach (var prefetch in stage.Prefetch)
            children.Add(Run(prefetch, filter, depth + 1, cancellationToken));

        StageResult result;
        switch (stage.Query)
        {
            case FusionStage { Kind: FusionKind.Rrf } rrf:
                result = new StageResult(Fusion.Rrf([.. children.Select(c => c.Points)], rrf.K, rrf.Weights), null);
                break;
            case FusionStage:
                result = new StageResult(Fusion.Dbsf([.. children.Select(ForScoreFusion)]), null);
                break;
            case NearestStage nearest:
                result = Rescore(stage, nearest.Nearest, children.SelectMany(c => c.Points.Select(p => p.Id)).Distinct().ToList());
                if (nearest.Mmr is { } mmr)
                {
                    // The threshold picks the candidates, as a search's would, before MMR picks among them.
                    if (stage.ScoreThreshold is { } floor && result.Metric is { } metric)
                        result = result with { Points = [.. result.Points.Where(p => p.Score >= metric.ThresholdToInternal(floor))] };
                    result = Diversify(stage, result, mmr);
                }
                break;
            case RecommendStage recommend:
                result = Recommend(stage, recommend, filter, children.SelectMany(c => c.Points.Select(p => p.Id)).Distinct().ToList(), cancellationToken);
                break;
            case DiscoverStage discover:
                result = Discover(stage, discover, filter, children.SelectMany(c => c.Points.Select(p => p.Id)).Distinct().ToList(), cancellationToken);
                break;
            case ContextStage context:
                result = Context(stage, context, filter, children.SelectMany(c => c.Points.Select(p => p.Id)).Distinct().ToList(), cancellationToken);
                break;
            case FormulaStage formula:
                result = FormulaRescore(formula, children, cancellationToken);
                break;
            case OrderByStage order:
                result = OrderedStage(stage, order, filter, children.SelectMany(c => c.Points.Select(p => p.Id)).Distinct().ToList());
                break;
            case SampleStage:
                result = new StageResult(Sample(children.SelectMany(c => c.Points.Select(p => p.Id)).Distinct().ToList(), stage.Limit), null);
                break;
            case null:
                throw QuiverException.BadInput("query: prefetches need a query that ranks or merges what they find, such as {\"fusion\": \"rrf\"}");
            default:
                throw QuiverException.BadInput($"query: {stage.Query.GetType().Name} is not supported over prefetches");
        }

        // Thresholds are on the API's scale: a distance passes below it, a similarity or fused score above it.
        var points = result.Points;
        if (stage.ScoreThreshold is { } threshold)
        {
            var metric = result.Metric;
            points = [.. points.Where(p => metric is { } m ? p.Score >= m.ThresholdToInternal(threshold) : p.Score >= threshold)];
        }

        return result with { Points = points.Count > stage.Limit ? points[..stage.Limit] : points };
    }

    /// <summary>A stage without prefetches: a search, or without a query the first points by id.</summary>
    private StageResult Leaf(QueryStage stage, Filter? filter, CancellationToken cancellationToken)
    {
        switch (stage.Query)
        {
            case NearestStage nearest when Config.FindSparse(stage.Using) is not null || Config.FindMulti(stage.Using) is not null:
            {
                if (nearest.Mmr is not null)
                    throw QuiverException.BadInput("query: mmr needs a dense vector; it is not supported on sparse vectors or multivectors");
                var hits = Search(
                    new SearchRequest(nearest.Nearest, stage.Using, filter, stage.Limit, 0, stage.ScoreThreshold, WithPayload.None, WithVector.None, stage.Exact),
                    cancellationToken);
                // Multivector scores go back to the internal scale, as a dense leaf's do; sparse scores are similarities as they are.
                var multi = Config.FindMulti(stage.Using)?.Distance;
                return new StageResult([.. hits.Select(h => new RankedPoint(h.Id, multi is { } d ? ToInternal(d, h.Score) : h.Score))], multi);
            }

            case NearestStage nearest:
            {
                var space = Config.FindSpace(stage.Using) ?? throw MissingVectorName(stage.Using);
                var candidates = nearest.Mmr is { } mmr ? MmrCandidates(stage, mmr) : stage.Limit;
                var hits = Search(
                    new SearchRequest(nearest.Nearest, stage.Using, filter, candidates, 0, stage.ScoreThreshold, WithPayload.None, WithVector.None, stage.Exact, stage.HnswEf, stage.IndexedOnly, stage.Quantization),
                    cancellationToken);
                // Back to the internal scale (higher is better) so fusion and thresholds compare alike.
                var found = new StageResult([.. hits.Select(h => new RankedPoint(h.Id, ToInternal(space.Distance, h.Score)))], space.Distance);
                return nearest.Mmr is { } diversity ? Diversify(stage, found, diversity) : found;
            }

            case RecommendStage recommend:
                return Recommend(stage, recommend, filter, null, cancellationToken);
            case DiscoverStage discover:
                return Discover(stage, discover, filter, null, cancellationToken);
            case ContextStage context:
                return Context(stage, context, filter, null, cancellationToken);
            case OrderByStage order:
                return OrderedStage(stage, order, filter, null);
            case FormulaStage:
                throw QuiverException.BadInput("query.formula: a formula rescores prefetched points; add a prefetch");

            case SampleStage:
            {
                var matching = new List<PointId>();
                PointId? from = null;
                while (stage.Limit > 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var page = Scroll(new ScrollRequest(filter, from, MaxLimit, null, WithPayload.None, WithVector.None));
                    matching.AddRange(page.Points.Select(p => p.Id));
                    if ((from = page.NextPageOffset) is null)
                        break;
                }

                return new StageResult(Sample(matching, stage.Limit), null);
            }

            case null:
            {
                if (stage.Limit == 0)
                    return new StageResult([], null);
                var page = Scroll(new ScrollRequest(filter, null, stage.Limit, null, WithPayload.None, WithVector.None));
                return new StageResult([.. page.Points.Select(p => new RankedPoint(p.Id, 0))], null);
            }

            default:
                throw QuiverException.BadInput("query: fusion needs prefetches to combine");
        }
    }

    /// <summary>
    /// Scores prefetched points exactly against the stage's vector (its <c>using</c> space, which may differ from the
    /// prefetches'); points without that vector drop out.
    /// </summary>
    private StageResult Rescore(QueryStage stage, NearestQuery nearest, List<PointId> candidates)
    {
        if (Config.FindSparse(stage.Using) is { } sparse)
            return RescoreSparse(sparse, nearest, candidates);
        if (nearest.Sparse is not null)
            throw SparseQueryOnDense(stage.Using);
        if (Config.FindMulti(stage.Using) is { } multi)
            return RescoreMulti(multi, nearest, candidates);
        if (nearest.Multi is not null)
            throw MultiQueryOnSingle(stage.Using);
        var space = Config.FindSpace(stage.Using) ?? throw MissingVectorName(stage.Using);
        var query = new float[space.Dimension];
        if (nearest.PointId is { } pointId)
        {
            CopyStoredVector(pointId, space, query);
            candidates.Remove(pointId);
        }
        else
        {
            PrepareQuery(space, nearest.Vector!, query).CopyTo(query);
        }

        var scored = new List<RankedPoint>(candidates.Count);
        foreach (var (id, vector) in StoredVectors(candidates, space))
            scored.Add(new RankedPoint(id, Similarity(space.Distance, query, vector)));

        scored.Sort((a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Id.CompareTo(b.Id));
        return new StageResult(scored, space.Distance);
    }

    /// <summary>
    /// A list's scores for distribution-based fusion: higher is better and linear in what the API reports (a distance
    /// is negated; the internal -distance² would bend the distribution the normalisation assumes).
    /// </summary>
    private static List<RankedPoint> ForScoreFusion(StageResult child) => child.Metric is Distance.Euclid
        ? [.. child.Points.Select(p => p with { Score = -Distance.Euclid.ToExternal(p.Score) })]
        : child.Points;

    /// <summary><paramref name="limit"/> of <paramref name="ids"/> at random (a partial Fisher-Yates shuffle), score 0.</summary>
    private static List<RankedPoint> Sample(List<PointId> ids, int limit)
    {
        var take = Math.Min(limit, ids.Count);
        for (var i = 0; i < take; i++)
        {
            var j = Random.Shared.Next(i, ids.Count);
            (ids[i], ids[j]) = (ids[j], ids[i]);
        }

        return [.. ids.Take(take).Select(id => new RankedPoint(id, 0))];
    }

    /// <summary>Every point a stage's query names, in the whole tree.</summary>
    private static void CollectNamedPoints(QueryStage stage, HashSet<PointId> named)
    {
        switch (stage.Query)
        {
            case NearestStage { Nearest.PointId: { } id }:
                named.Add(id);
                break;
            case RecommendStage recommend:
                foreach (var example in recommend.Positive.Concat(recommend.Negative))
                {
                    if (example.PointId is { } exampleId)
                        named.Add(exampleId);
                }

                break;
            case DiscoverStage discover:
                foreach (var example in discover.Context.SelectMany(p => new[] { p.Positive, p.Negative }).Append(discover.Target))
                {
                    if (example.PointId is { } exampleId)
                        named.Add(exampleId);
                }

                break;
            case ContextStage context:
                foreach (var example in context.Pairs.SelectMany(p => new[] { p.Positive, p.Negative }))
                {
                    if (example.PointId is { } exampleId)
                        named.Add(exampleId);
                }

                break;
            default:
                break;
        }

        foreach (var prefetch in stage.Prefetch)
            CollectNamedPoints(prefetch, named);
    }

    /// <summary>The stored vectors of <paramref name="space"/> of the points in <paramref name="ids"/> that exist and have one, in order.</summary>
    private List<(PointId Id, float[] Vector)> StoredVectors(IReadOnlyList<PointId> ids, VectorSpace space) =>
        [.. Get(ids, WithPayload.None, new WithVector(true, [space.Name]))
            .Select(r => (r.Id, Vector: r.Vectors?.Where(v => v.Name == space.Name).Select(v => v.Values).FirstOrDefault()))
            .Where(p => p.Vector is not null)
            .Select(p => (p.Id, p.Vector!))];

    /// <summary>The internal similarity (higher is closer) of two vectors as stored (or prepared as a query).</summary>
    private static float Similarity(Distance distance, ReadOnlySpan<float> a, ReadOnlySpan<float> b) => distance switch
    {
        Distance.Euclid => NegSquaredL2Kernel.Score(a, b),
        Distance.Manhattan => NegL1Kernel.Score(a, b),
        _ => DotKernel.Score(a, b),
    };

    /// <summary>The internal score (higher is closer) of an API score.</summary>
    private static float ToInternal(Distance distance, float external) => distance switch
    {
        Distance.Euclid => -(external * external),
        Distance.Manhattan => -external,
        _ => external,
    };

    /// <summary>
    /// Both filters at once; the outer one's <c>must</c> conditions stay at the top, where the planner sees its indexes.
    /// Its should, must_not and min_should stay together as one nested condition, so each filter must hold whole
    /// (concatenating the two should lists would let either filter's conditions admit a point).
    /// </summary>
    private static Filter? Both(Filter? outer, Filter? inner)
    {
        if (outer is null)
            return inner;
        if (inner is null)
            return outer;
        var rest = outer.Should is null && outer.MustNot is null && outer.MinShould is null
            ? []
            : new Condition[] { new FilterCondition(new Filter(null, outer.Should, outer.MustNot, outer.MinShould)) };
        return new Filter([.. inner.Must ?? [], .. outer.Must ?? [], .. rest], inner.Should, inner.MustNot, inner.MinShould);
    }
}
