using System.Runtime.CompilerServices;
using Quiver.Index.Hnsw;
using Quiver.Kernels;
using Quiver.Segment.Filtering;
using Quiver.Segment.PayloadIndex;
using Quiver.Segment.Payloads;
using Quiver.Segment.Points;

namespace Quiver.Segment.Segments;

public sealed partial class PointSegment
{
    private const int CancellationCheckInterval = 4096;

    [ThreadStatic]
    private static TopK? _threadTopK;

    private GraphFilter?[]? _liveFilters;

    /// <summary>Ids of live points matching <paramref name="filter"/>, in internal order.</summary>
    public List<PointId> Select(Filter filter)
    {
        var result = new List<PointId>();
        foreach (var offset in Matching(filter))
            result.Add(_ids[offset]);
        return result;
    }

    public long Count(Filter? filter)
    {
        if (filter is null)
            return LiveCount;
        long n = 0;
        foreach (var _ in Matching(filter))
            n++;
        return n;
    }

    /// <summary>Up to <paramref name="limit"/> matching ids from <paramref name="from"/> (inclusive), ascending.</summary>
    public List<PointId> ScrollIds(Filter? filter, PointId? from, int limit)
    {
        var sorted = SortedIds();
        var start = 0;
        if (from is { } f)
        {
            start = Array.BinarySearch(sorted, f);
            if (start < 0)
                start = ~start;
        }

        var compiled = filter is null ? null : Indexes.Set.Plan(filter).Filter;
        var cursor = new Cursor(this);
        var result = new List<PointId>(Math.Min(limit, 1024));
        for (var i = start; i < sorted.Length && result.Count < limit; i++)
        {
            if (compiled is not null)
            {
                cursor.Offset = _offsets[sorted[i]];
                if (!compiled.Matches(cursor))
                    continue;
            }

            result.Add(sorted[i]);
        }

        return result;
    }

    /// <summary>
    /// How many live points matching <paramref name="filter"/> hold each value of <paramref name="key"/>, from its
    /// payload index, added into <paramref name="counts"/>; false when the key has no index that can facet.
    /// </summary>
    public bool Facet(JsonPath key, Filter? filter, Dictionary<object, long> counts)
    {
        ArgumentNullException.ThrowIfNull(counts);
        if (Indexes.Set.Get(key)?.FacetValues() is not { } values)
            return false;
        HashSet<int>? matching = filter is null ? null : [.. Matching(filter)];
        foreach (var (value, points) in values)
        {
            long n = 0;
            foreach (var offset in points)
            {
                if (_live[offset] && (matching is null || matching.Contains(offset)))
                    n++;
            }

            if (n > 0)
                counts[value] = counts.GetValueOrDefault(value) + n;
        }

        return true;
    }

    /// <summary>
    /// Up to <paramref name="limit"/> matching points ordered by a numeric payload key, or null when the key has
    /// no index that supports ordering. A point with several values appears once per value, as in Qdrant.
    /// </summary>
    public List<(int Offset, double Value)>? ScrollOrdered(Filter? filter, string key, bool descending, double? startFrom, int limit)
    {
        if (Indexes.Set.Get(JsonPath.Parse(key, "order_by.key")) is not { SupportsOrdering: true } index)
            return null;
        var compiled = filter is null ? null : Indexes.Set.Plan(filter).Filter;
        var cursor = new Cursor(this);
        var result = new List<(int, double)>();
        foreach (var (value, offset) in index.Ordered(descending, startFrom))
        {
            if (result.Count >= limit)
                break;
            if (!_live[offset])
                continue;
            cursor.Offset = offset;
            if (compiled is null || compiled.Matches(cursor))
                result.Add((offset, value));
        }

        return result;
    }

    /// <summary>
    /// Top-<paramref name="k"/> by internal score (higher is closer) over points that have a vector in
    /// <paramref name="space"/> and match <paramref name="filter"/>; scores below <paramref name="threshold"/> are
    /// dropped. The planner picks an exact scan (no graph, <c>exact</c>, a small segment, or a filter whose indexed
    /// candidates are few) or a graph traversal that checks the filter and liveness during the walk.
    /// </summary>
    public ScoredId[] Search(int space, ReadOnlySpan<float> query, Filter? filter, int k, float? threshold, SegmentSearchParams parameters, CancellationToken cancellationToken)
    {
        var buffer = new ScoredId[k];
        var found = Search(space, query, filter, k, threshold, parameters, buffer, cancellationToken);
        return found == buffer.Length ? buffer : buffer[..found];
    }

    /// <summary>
    /// As <see cref="Search(int, ReadOnlySpan{float}, Filter?, int, float?, SegmentSearchParams, CancellationToken)"/>,
    /// written best first into <paramref name="results"/> (at least <paramref name="k"/> long); returns how many.
    /// The engine's query path passes a pooled buffer, so a search allocates nothing here.
    /// </summary>
    public int Search(int space, ReadOnlySpan<float> query, Filter? filter, int k, float? threshold, SegmentSearchParams parameters, Span<ScoredId> results, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(results.Length, k, nameof(results));
        var graph = _graphs[space];
        var plan = filter is null ? null : Indexes.Set.Plan(filter);
        // A filter requiring a value with its own payload graph walks that graph, unless few points match at all.
        if (plan is not null && !parameters.Exact && PayloadGraphFor(space, filter!) is { } payloadGraph
            && (plan.Candidates is not { } matching || matching.Count > parameters.FullScanThreshold))
        {
            return SearchPayloadGraph(payloadGraph, space, query, plan, k, threshold, parameters.Ef, results, cancellationToken);
        }

        if (graph is not null && !parameters.Exact && LiveCount > parameters.FullScanThreshold
            && (plan?.Candidates is not { } candidates || candidates.Count > parameters.FullScanThreshold))
        {
            if (!parameters.Quantization.Ignore && Codes(space) is { } codes && codes.Count == graph.Count && graph.Count == _used)
                return SearchGraphCodes(graph, codes, space, query, plan, k, threshold, parameters, results, cancellationToken);
            return SearchGraph(graph, space, query, plan, k, threshold, parameters.Ef, results, cancellationToken);
        }

        var topK = _threadTopK ??= new TopK(k);
        topK.Reset(k);
        var store = _stores[space];
        switch (Spaces[space].Metric)
        {
            case VectorMetric.Dot:
                Scan<DotKernel>(space, store, query, plan, topK, threshold ?? float.NegativeInfinity, 0, cancellationToken);
                break;
            case VectorMetric.NegSquaredL2:
                Scan<NegSquaredL2Kernel>(space, store, query, plan, topK, threshold ?? float.NegativeInfinity, 0, cancellationToken);
                break;
            default:
                Scan<NegL1Kernel>(space, store, query, plan, topK, threshold ?? float.NegativeInfinity, 0, cancellationToken);
                break;
        }

        return topK.DrainSortedDescending(results);
    }

    private int SearchGraph(HnswGraph graph, int space, ReadOnlySpan<float> query, FilterPlan? plan, int k, float? threshold, int ef, Span<ScoredId> buffer, CancellationToken cancellationToken)
    {
        var store = _stores[space];
        // An appendable segment's graph links a prefix of the rows while writes continue: the walk covers every
        // row stored so far (nodes being linked may be met) and the rows past the linked prefix are scanned exactly.
        var linked = graph.Count;
        var rows = _used;
        // Deleted rows and rows without this vector stay in the graph (they keep it connected) but never match.
        IGraphFilter? accept = plan is null && store.PresentCount == rows ? null : AcceptFor(space, plan);
        var found = store.Compact is { } compact
            ? SearchCompactGraph(graph, null, compact, space, query, k, Math.Max(ef, k), accept, buffer, cancellationToken)
            : Spaces[space].Metric switch
            {
                VectorMetric.Dot => graph.Search<DotKernel>(query, store.Data[..(rows * store.Dimension)], k, Math.Max(ef, k), accept, buffer, cancellationToken),
                VectorMetric.NegSquaredL2 => graph.Search<NegSquaredL2Kernel>(query, store.Data[..(rows * store.Dimension)], k, Math.Max(ef, k), accept, buffer, cancellationToken),
                _ => graph.Search<NegL1Kernel>(query, store.Data[..(rows * store.Dimension)], k, Math.Max(ef, k), accept, buffer, cancellationToken),
            };
        if (linked < rows)
            return MergeUnlinked(space, query, plan, k, threshold, buffer, found, linked, cancellationToken);

        return AtLeast(buffer, found, threshold);
    }

    /// <summary>How many of the <paramref name="found"/> hits (best first) score at least <paramref name="threshold"/>.</summary>
    private static int AtLeast(ReadOnlySpan<ScoredId> hits, int found, float? threshold)
    {
        if (threshold is not { } t)
            return found;
        var kept = 0;
        while (kept < found && hits[kept].Score >= t)
            kept++;
        return kept;
    }

    /// <summary>
    /// The graph walk's acceptance test. Without a filter it checks only liveness and keeps no per-query state,
    /// so one instance per space serves every query (racing first queries may each build one, harmlessly).
    /// </summary>
    private GraphFilter AcceptFor(int space, FilterPlan? plan)
    {
        if (plan is not null)
            return new GraphFilter(this, _stores[space], plan);
        var filters = _liveFilters ??= new GraphFilter?[_stores.Length];
        return filters[space] ??= new GraphFilter(this, _stores[space], null);
    }

    /// <summary>Merges graph hits over the linked rows with an exact scan of the rows not linked yet.</summary>
    private int MergeUnlinked(int space, ReadOnlySpan<float> query, FilterPlan? plan, int k, float? threshold, Span<ScoredId> buffer, int found, int linked, CancellationToken cancellationToken)
    {
        var topK = _threadTopK ??= new TopK(k);
        topK.Reset(k);
        var floor = threshold ?? float.NegativeInfinity;
        // The graph hits are copied into the collector before the drain below overwrites the buffer.
        foreach (var hit in buffer[..found])
        {
            // A node linked during this search is also in the exact tail: count it there only.
            if (hit.Id < linked && hit.Score >= floor)
                topK.TryAdd(hit.Score, hit.Id);
        }

        var store = _stores[space];
        switch (Spaces[space].Metric)
        {
            case VectorMetric.Dot:
                Scan<DotKernel>(space, store, query, plan, topK, floor, linked, cancellationToken);
                break;
            case VectorMetric.NegSquaredL2:
                Scan<NegSquaredL2Kernel>(space, store, query, plan, topK, floor, linked, cancellationToken);
                break;
            default:
                Scan<NegL1Kernel>(space, store, query, plan, topK, floor, linked, cancellationToken);
                break;
        }

        return topK.DrainSortedDescending(buffer);
    }

    /// <summary>Scores the rows from offset <paramref name="from"/> on that pass the plan into <paramref name="topK"/>.</summary>
    private void Scan<TKernel>(int space, DenseVectorStore store, ReadOnlySpan<float> query, FilterPlan? plan, TopK topK, float threshold, int from, CancellationToken cancellationToken)
        where TKernel : struct, IScoreKernel
    {
        if (store.Compact is { } compact)
        {
            ScanCompact(space, store, compact, query, plan, topK, threshold, from, cancellationToken);
            return;
        }

        var dim = store.Dimension;
        var data = store.Data;
        if (plan is null)
        {
            if (TryScanSketched<TKernel>(space, store, query, null, from, topK, threshold, cancellationToken))
                return;

            // Every slot in use holds a live vector: one contiguous kernel sweep.
            if (store.PresentCount == _used && float.IsNegativeInfinity(threshold))
            {
                ExactScan.Scan<TKernel>(query, data[(from * dim)..(_used * dim)], dim, topK, from);
                return;
            }

            for (var offset = from; offset < _used; offset++)
            {
                if ((offset & (CancellationCheckInterval - 1)) == 0)
                    cancellationToken.ThrowIfCancellationRequested();
                if (store.IsPresent(offset))
                    Offer<TKernel>(query, data.Slice(offset * dim, dim), offset, topK, threshold);
            }

            return;
        }

        if (plan is { CandidatesAreExact: true, Candidates: int[] exact })
        {
            if (TryScanSketched<TKernel>(space, store, query, exact, from, topK, threshold, cancellationToken))
                return;

            // The index answered the whole filter: score the candidates straight off the array.
            for (var i = 0; i < exact.Length; i++)
            {
                if ((i & (CancellationCheckInterval - 1)) == 0)
                    cancellationToken.ThrowIfCancellationRequested();
                var offset = exact[i];
                if (offset >= from && _live[offset] && store.IsPresent(offset))
                    Offer<TKernel>(query, data.Slice(offset * dim, dim), offset, topK, threshold);
            }

            return;
        }

        var cursor = new Cursor(this);
        var checkedCount = 0;
        foreach (var offset in plan.Candidates ?? (IEnumerable<int>)Enumerable.Range(from, _used - from))
        {
            if ((++checkedCount & (CancellationCheckInterval - 1)) == 0)
                cancellationToken.ThrowIfCancellationRequested();
            if (offset < from || !_live[offset] || !store.IsPresent(offset))
                continue;
            cursor.Offset = offset;
            if (plan.CandidatesAreExact || plan.Filter.Matches(cursor))
                Offer<TKernel>(query, data.Slice(offset * dim, dim), offset, topK, threshold);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Offer<TKernel>(ReadOnlySpan<float> query, ReadOnlySpan<float> row, int offset, TopK topK, float threshold)
        where TKernel : struct, IScoreKernel
    {
        // A row below the threshold or the worst kept result is rejected whatever its exact score: a distance
        // kernel stops reading the row once it knows (the rest of a scattered row is not even fetched).
        var score = TKernel.ScoreAtLeast(query, row, Math.Max(threshold, topK.Threshold));
        if (score >= threshold)
            topK.TryAdd(score, offset);
    }

    private IEnumerable<int> Matching(Filter filter)
    {
        var plan = Indexes.Set.Plan(filter);
        var cursor = new Cursor(this);
        foreach (var offset in plan.Candidates ?? (IEnumerable<int>)Enumerable.Range(0, _used))
        {
            if (!_live[offset])
                continue;
            cursor.Offset = offset;
            if (plan.Filter.Matches(cursor))
                yield return offset;
        }
    }

    /// <summary>Graph-walk acceptance: live, has the vector, and passes the filter.</summary>
    private sealed class GraphFilter : IGraphFilter
    {
        private readonly PointSegment _segment;
        private readonly DenseVectorStore _store;
        private readonly CompiledFilter? _filter;
        private readonly ulong[]? _members;
        private readonly Cursor _cursor;

        public GraphFilter(PointSegment segment, DenseVectorStore store, FilterPlan? plan)
        {
            _segment = segment;
            _store = store;
            _cursor = new Cursor(segment);
            if (plan is { CandidatesAreExact: true, Candidates: { } candidates })
            {
                // Every clause was answered by an index: a bit test replaces evaluating the filter on each node.
                _members = new ulong[(segment._used + 63) >> 6];
                foreach (var offset in candidates)
                    _members[offset >> 6] |= 1UL << offset;
            }
            else
            {
                _filter = plan?.Filter;
            }
        }

        public bool Accept(int node)
        {
            if (!_segment._live[node] || !_store.IsPresent(node))
                return false;
            if (_members is not null)
                return (_members[node >> 6] & (1UL << node)) != 0;
            if (_filter is null)
                return true;
            _cursor.Offset = node;
            return _filter.Matches(_cursor);
        }
    }

    /// <summary>The segment's point at <see cref="Offset"/>, as filters see it.</summary>
    private sealed class Cursor(PointSegment segment) : IFilterTarget
    {
        public int Offset { get; set; }

        public PointId Id => segment._ids[Offset];

        public Payload Payload => segment.PayloadAt(Offset);

        public bool HasVector(string name) =>
            segment._storeByName.TryGetValue(name, out var s) ? segment._stores[s].IsPresent(Offset) : segment.HasSparse(Offset, name) || segment.MultiAt(Offset, name) is not null;
    }
}
