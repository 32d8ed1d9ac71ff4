using System.Buffers;
using System.Runtime.CompilerServices;
using Quiver.Engine.Internal;
using Quiver.Engine.Query;
using Quiver.Engine.Shards;
using Quiver.Segment.Errors;
using Quiver.Segment.Points;
using Quiver.Segment.Segments;

namespace Quiver.Engine.Collections;

public sealed partial class Collection
{
    /// <summary>Queries up to this many dimensions are prepared on the stack; longer ones in a pooled array.</summary>
    private const int StackQueryFloats = 1024;

    /// <summary>
    /// Nearest-neighbour search: the top <c>limit</c> after <c>offset</c> by score, ties by id. Each shard searches
    /// and materialises its hits under one read lock, so what is returned is consistent with what was scored;
    /// the merge then orders across shards. The hot path allocates only the returned records and their array:
    /// the query is prepared on the stack (or in a pooled array), the locks are taken without closures, and hits
    /// are gathered in a per-thread buffer.
    /// </summary>
    public IReadOnlyList<ScoredRecord> Search(SearchRequest request, CancellationToken cancellationToken)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        // A child of the request's span when tracing is on; null (and free) otherwise.
        using var activity = EngineMetrics.Activities.StartActivity("quiver.search");
        activity?.SetTag("quiver.collection", Name);
        activity?.SetTag("quiver.limit", request.Limit);
        var result = SearchCore(request, cancellationToken);
        activity?.SetTag("quiver.hits", result.Count);
        EngineMetrics.SearchDuration.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds, new KeyValuePair<string, object?>("collection", Name));
        return result;
    }

    [SkipLocalsInit]
    private IReadOnlyList<ScoredRecord> SearchCore(SearchRequest request, CancellationToken cancellationToken)
    {
        if (request.Limit < 0 || request.Limit > MaxLimit)
            throw QuiverException.BadInput($"limit: expected an integer from 0 to {MaxLimit}");
        if (request.Offset < 0 || request.Offset > MaxLimit)
            throw QuiverException.BadInput($"offset: expected an integer from 0 to {MaxLimit}");
        if (Config.FindSparse(request.Using) is { } sparse)
            return SearchSparse(request, sparse, cancellationToken);
        if (Config.FindMulti(request.Using) is { } multi)
            return SearchMulti(request, multi, cancellationToken);
        if (request.Query.Multi is not null)
            throw MultiQueryOnSingle(request.Using);
        if (request.Query.Sparse is not null)
        {
            throw SparseQueryOnDense(request.Using);
        }

        var space = Config.FindSpace(request.Using) ?? throw MissingVectorName(request.Using);

        var dim = space.Dimension;
        float[]? rented = null;
        var scratch = dim <= StackQueryFloats ? stackalloc float[StackQueryFloats] : (rented = ArrayPool<float>.Shared.Rent(dim));
        try
        {
            scoped ReadOnlySpan<float> query;
            PointId? exclude = null;
            if (request.Query.PointId is { } pointId)
            {
                CopyStoredVector(pointId, space, scratch[..dim]);
                query = scratch[..dim];
                // Like Qdrant's recommend-by-id, the point a query is built from is not returned as its own neighbour.
                exclude = pointId;
            }
            else
            {
                query = PrepareQuery(space, request.Query.Vector!, scratch[..dim]);
            }

            var k = request.Limit + request.Offset;
            if (k == 0)
                return [];
            return SearchShards(request, space, query, k, exclude, cancellationToken);
        }
        finally
        {
            if (rented is not null)
                ArrayPool<float>.Shared.Return(rented);
        }
    }

    private void CopyStoredVector(PointId pointId, VectorSpace space, Span<float> destination)
    {
        using var view = ReplicaOfPoint(pointId).EnterRead();
        if (!view.Set.TryLocate(pointId, out var segment, out var offset))
            throw QuiverException.NotFound($"Not found: No point with id {pointId} found");
        var s = segment.SpaceIndex(space.Name);
        if (!segment.HasVector(offset, s))
            throw QuiverException.BadInput($"Wrong input: point {pointId} has no vector named {(space.Name.Length == 0 ? "\"\"" : space.Name)}");
        // Copied out under the lock: an appendable segment may overwrite the row once it is released.
        segment.VectorAt(offset, s).CopyTo(destination);
    }

    /// <summary>
    /// Checks a query vector as <see cref="Prepare"/> checks a stored one; returns it as is, or for Cosine its
    /// normalised copy in <paramref name="scratch"/>.
    /// </summary>
    private static ReadOnlySpan<float> PrepareQuery(VectorSpace space, float[] vector, Span<float> scratch)
    {
        if (vector.Length != space.Dimension)
            throw DimensionError(space.Dimension, vector.Length);
        if (!Quiver.Kernels.VectorMath.AllFinite(vector))
            throw QuiverException.BadInput("query: vector contains NaN or Infinity");
        if (space.Distance != Distance.Cosine)
            return vector;
        vector.CopyTo(scratch);
        Quiver.Kernels.VectorMath.Normalize(scratch);
        return scratch;
    }

    private ScoredRecord[] SearchShards(SearchRequest request, VectorSpace space, ReadOnlySpan<float> query, int k, PointId? exclude, CancellationToken cancellationToken)
    {
        float? threshold = request.ScoreThreshold is { } t ? space.Distance.ThresholdToInternal(t) : null;
        var parameters = SearchParamsFor(space, request);
        var want = k + (exclude is null ? 0 : 1);
        var buffer = SearchBuffer.Rent();
        try
        {
            var shards = ReadShards;
            if (shards.Length == 1)
            {
                // One shard's order is the final order: materialise only the page.
                cancellationToken.ThrowIfCancellationRequested();
                using var view = shards[0].EnterRead();
                var hits = RankHits(view.Set, request, space, query, k, want, threshold, parameters, exclude, buffer, cancellationToken);
                if (hits.Length <= request.Offset)
                    return [];
                var page = new ScoredRecord[hits.Length - request.Offset];
                for (var i = 0; i < page.Length; i++)
                    page[i] = ToRecord(hits[request.Offset + i], space.Distance, request);
                return page;
            }

            foreach (var shard in shards)
            {
                cancellationToken.ThrowIfCancellationRequested();
                // A shard's hits beyond its own top k cannot be in the global top k.
                using var view = shard.EnterRead();
                foreach (var hit in RankHits(view.Set, request, space, query, k, want, threshold, parameters, exclude, buffer, cancellationToken))
                    buffer.AddRanked(hit.Score, ToRecord(hit, space.Distance, request));
            }

            var ranked = buffer.Ranked;
            ranked.Sort(new RankedOrder());
            var take = Math.Min(k, ranked.Length);
            if (take <= request.Offset)
                return [];
            var result = new ScoredRecord[take - request.Offset];
            for (var i = 0; i < result.Length; i++)
                result[i] = ranked[request.Offset + i].Record;
            return result;
        }
        finally
        {
            SearchBuffer.Return(buffer);
        }
    }

    /// <summary>One shard's hits without the excluded point, best first (ties by id), at most <paramref name="k"/>.</summary>
    private static Span<SegmentHit> RankHits(
        SegmentSet set, SearchRequest request, VectorSpace space, ReadOnlySpan<float> query, int k, int want, float? threshold,
        SegmentSearchParams parameters, PointId? exclude, SearchBuffer buffer, CancellationToken cancellationToken)
    {
        buffer.ClearHits();
        set.Search(space.Name, query, request.Filter, want, threshold, parameters, request.IndexedOnly, buffer, cancellationToken);
        var hits = buffer.Hits;
        if (exclude is { } excluded)
        {
            var kept = 0;
            foreach (var hit in hits)
            {
                if (hit.Id != excluded)
                    hits[kept++] = hit;
            }

            buffer.TruncateHits(kept);
            hits = hits[..kept];
        }

        // Each segment's hits arrive best first but ties are not ordered by id, and segments interleave: sort
        // unless already in order (the common case of one segment without ties).
        var order = new HitOrder();
        for (var i = 1; i < hits.Length; i++)
        {
            if (order.Compare(hits[i - 1], hits[i]) > 0)
            {
                hits.Sort(order);
                break;
            }
        }

        return hits[..Math.Min(k, hits.Length)];
    }

    private static ScoredRecord ToRecord(in SegmentHit hit, Distance distance, SearchRequest request)
    {
        var payload = request.WithPayload.Enabled ? PayloadProjection.Apply(hit.Segment.PayloadAt(hit.Offset), request.WithPayload) : null;
        var vectors = request.WithVector.Enabled ? Materialize(hit.Segment, hit.Offset, WithPayload.None, request.WithVector).Vectors : null;
        return new ScoredRecord(hit.Id, hit.Version, distance.ToExternal(hit.Score), payload, vectors);
    }

    private SegmentSearchParams SearchParamsFor(VectorSpace space, SearchRequest request)
    {
        var hnsw = Config.HnswFor(space.Name);
        // full_scan_threshold is in KB of vectors: below it an exact scan is cheaper than the graph.
        var fullScanPoints = (int)Math.Min(int.MaxValue, (long)hnsw.FullScanThresholdKb * 1024 / ((long)space.Dimension * sizeof(float)));
        return new SegmentSearchParams(request.HnswEf ?? hnsw.EfConstruct, request.Exact, fullScanPoints, request.Quantization);
    }

    /// <summary>Search order: internal score descending, then id ascending.</summary>
    private readonly struct HitOrder : IComparer<SegmentHit>
    {
        public int Compare(SegmentHit x, SegmentHit y) => x.Score != y.Score ? y.Score.CompareTo(x.Score) : x.Id.CompareTo(y.Id);
    }

    /// <summary>The same order over materialised records.</summary>
    private readonly struct RankedOrder : IComparer<RankedRecord>
    {
        public int Compare(RankedRecord x, RankedRecord y) => x.Score != y.Score ? y.Score.CompareTo(x.Score) : x.Record.Id.CompareTo(y.Record.Id);
    }
}
