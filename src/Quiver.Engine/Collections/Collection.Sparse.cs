using Quiver.Engine.Query;
using Quiver.Segment.Errors;
using Quiver.Segment.Points;

namespace Quiver.Engine.Collections;

/// <summary>
/// Search over sparse vector spaces: the dot product over shared dimensions, each query value first weighted by
/// its dimension's inverse document frequency when the space's modifier is <c>idf</c>. IDF comes from the whole
/// collection (every shard and segment, live points only), so it stays right across segments and deletes.
/// </summary>
public sealed partial class Collection
{
    /// <summary>A sparse search: the top <c>limit</c> after <c>offset</c>, best first, ties by id.</summary>
    private ScoredRecord[] SearchSparse(SearchRequest request, SparseSpace space, CancellationToken cancellationToken)
    {
        var (query, exclude) = SparseQueryOf(request.Query, space);
        if (query.Count == 0)
            return [];
        var weighted = Weighted(space, query);
        return ScoreSegments(request, exclude, null, (segment, want, hits) => segment.SearchSparse(space.Name, weighted, request.Filter, want, hits, cancellationToken), cancellationToken);
    }

    /// <summary>
    /// A search whose segments each score their own points (sparse or multivector spaces): every shard's segments are
    /// searched and the hits materialised under that shard's read lock, then merged; the top <c>limit</c> after
    /// <c>offset</c>, ties by id, <paramref name="exclude"/> left out, the score threshold applied. Segments score on
    /// the internal scale (higher is closer); <paramref name="distance"/> converts to the API's (null: as they are).
    /// </summary>
    private ScoredRecord[] ScoreSegments(
        SearchRequest request, PointId? exclude, Distance? distance, Action<Segment.Segments.PointSegment, int, List<(int Offset, float Score)>> search, CancellationToken cancellationToken)
    {
        float? floor = request.ScoreThreshold is { } t ? distance is { } d ? d.ThresholdToInternal(t) : t : null;
        var k = request.Limit + request.Offset;
        if (k == 0)
            return [];
        var want = k + (exclude is null ? 0 : 1);
        var found = new List<(float Score, ScoredRecord Record)>();
        var hits = new List<(int Offset, float Score)>();
        var ranked = new List<(float Score, PointId Id, Segment.Segments.PointSegment Segment, int Offset)>();
        foreach (var shard in ReadShards)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var view = shard.EnterRead();
            ranked.Clear();
            foreach (var segment in view.Set.Segments)
            {
                hits.Clear();
                search(segment, want, hits);
                foreach (var (offset, score) in hits)
                {
                    var id = segment.IdAt(offset);
                    if (id != exclude && (floor is not { } least || score >= least))
                        ranked.Add((score, id, segment, offset));
                }
            }

            ranked.Sort((a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Id.CompareTo(b.Id));
            // Materialised under the same lock the points were scored under.
            foreach (var (score, id, segment, offset) in ranked.Take(k))
            {
                var payload = request.WithPayload.Enabled ? PayloadProjection.Apply(segment.PayloadAt(offset), request.WithPayload) : null;
                var vectors = request.WithVector.Enabled ? Materialize(segment, offset, WithPayload.None, request.WithVector).Vectors : null;
                found.Add((score, new ScoredRecord(id, segment.VersionAt(offset), distance is { } metric ? metric.ToExternal(score) : score, payload, vectors)));
            }
        }

        found.Sort((a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Record.Id.CompareTo(b.Record.Id));
        return [.. found.Skip(request.Offset).Take(request.Limit).Select(f => f.Record)];
    }

    /// <summary>Prefetched points rescored against a sparse query; points without a vector in the space drop out.</summary>
    private StageResult RescoreSparse(SparseSpace space, NearestQuery nearest, List<PointId> candidates)
    {
        var (query, exclude) = SparseQueryOf(nearest, space);
        if (exclude is { } named)
            candidates.Remove(named);
        var weighted = Weighted(space, query);
        var scored = new List<RankedPoint>(candidates.Count);
        foreach (var (id, vector) in StoredSparse(candidates, space.Name))
        {
            if (vector.Overlaps(weighted))
                scored.Add(new RankedPoint(id, vector.Dot(weighted)));
        }

        scored.Sort((a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Id.CompareTo(b.Id));
        return new StageResult(scored, null);
    }

    /// <summary>The query's sparse vector: given, or a point's stored one (that point is then not returned).</summary>
    private (SparseVector Query, PointId? Exclude) SparseQueryOf(NearestQuery nearest, SparseSpace space)
    {
        if (nearest.Sparse is { } given)
            return (given, null);
        if (nearest.PointId is { } pointId)
        {
            var stored = StoredSparse([pointId], space.Name);
            if (stored.Count == 0)
            {
                using var view = ReplicaOfPoint(pointId).EnterRead();
                if (!view.Set.TryLocate(pointId, out _, out _))
                    throw QuiverException.NotFound($"Not found: No point with id {pointId} found");
                throw QuiverException.BadInput($"Wrong input: point {pointId} has no vector named {space.Name}");
            }

            return (stored[0].Vector, pointId);
        }

        throw QuiverException.BadInput($"Wrong input: {space.Name} is a sparse vector: query it with {{\"indices\": [...], \"values\": [...]}}");
    }

    /// <summary>The stored sparse vectors of the points that exist and have one, in order.</summary>
    private List<(PointId Id, SparseVector Vector)> StoredSparse(IReadOnlyList<PointId> ids, string name)
    {
        var result = new List<(PointId, SparseVector)>(ids.Count);
        foreach (var group in ids.Select((id, i) => (id, i)).GroupBy(x => ShardOf(x.id)))
        {
            if (HostedReplica(group.Key) is not { } shard)
                continue;
            using var view = shard.EnterRead();
            foreach (var (id, _) in group)
            {
                if (view.Set.TryLocate(id, out var segment, out var offset) && segment.SparseAt(offset, name) is { } vector)
                    result.Add((id, vector));
            }
        }

        var order = ids.Select((id, i) => (id, i)).GroupBy(x => x.id).ToDictionary(g => g.Key, g => g.First().i);
        result.Sort((a, b) => order[a.Item1].CompareTo(order[b.Item1]));
        return result;
    }

    /// <summary>
    /// The query with each value multiplied by its dimension's IDF, <c>ln(1 + (N - n + 0.5) / (n + 0.5))</c> with N
    /// the live points that have a vector in the space and n those that have the dimension (as in Qdrant and BM25).
    /// </summary>
    private SparseVector Weighted(SparseSpace space, SparseVector query)
    {
        if (!space.Idf || query.Count == 0)
            return query;
        var df = new long[query.Count];
        long n = 0;
        foreach (var shard in ReadShards)
        {
            using var view = shard.EnterRead();
            foreach (var segment in view.Set.Segments)
                n += segment.SparseStatistics(space.Name, query.Indices, df);
        }

        var weights = new float[query.Count];
        for (var i = 0; i < weights.Length; i++)
            weights[i] = (float)Math.Log(1 + ((n - df[i] + 0.5) / (df[i] + 0.5)));
        return query.Weighted(weights);
    }

    private QuiverException SparseQueryOnDense(string name) => Config.FindSpace(name) is null && Config.FindMulti(name) is null
        ? MissingVectorName(name)
        : QuiverException.BadInput($"Wrong input: {(name.Length == 0 ? "the unnamed vector" : name)} is dense; a sparse query needs a sparse vector name in `using`");

    /// <summary>The dense space a feature that needs one ranks by; a sparse name gets a clear refusal.</summary>
    private VectorSpace DenseSpace(string name, string feature) =>
        Config.FindSpace(name) ?? throw (Config.FindSparse(name) is null && Config.FindMulti(name) is null
            ? MissingVectorName(name)
            : QuiverException.BadInput($"Wrong input: {feature} needs a dense vector; {name} is {(Config.FindSparse(name) is null ? "a multivector" : "sparse")}"));
}
