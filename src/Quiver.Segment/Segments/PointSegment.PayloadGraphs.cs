using Quiver.Index.Hnsw;
using Quiver.Kernels;
using Quiver.Segment.Filtering;
using Quiver.Segment.PayloadIndex;

namespace Quiver.Segment.Segments;

public sealed partial class PointSegment
{
    private long _payloadGraphSearches;

    /// <summary>Searches answered by walking a payload graph (for tests and metrics).</summary>
    public long PayloadGraphSearches => Interlocked.Read(ref _payloadGraphSearches);

    /// <summary>The payload graphs of a space, once attached.</summary>
    public PayloadGraphSet? PayloadGraphs(int space) => Volatile.Read(ref _payloadGraphs[space]);

    /// <summary>Bytes held by payload graphs.</summary>
    public long PayloadGraphBytes => _payloadGraphs.Sum(g => g?.MemoryBytes ?? 0);

    /// <summary>
    /// The exact payload values (of every index) more than <paramref name="minPoints"/> live points with a vector in
    /// <paramref name="space"/> hold, with those points: what <see cref="BuildPayloadGraphs"/> builds graphs over.
    /// Reads the payload indexes, so the caller excludes writers (the shard's read lock) while it runs.
    /// </summary>
    public IReadOnlyList<PayloadBlock> PayloadBlocks(int space, int minPoints)
    {
        ThrowIfNotSealed();
        var store = _stores[space];
        var blocks = new List<PayloadBlock>();
        foreach (var index in Indexes.Set.Indexes)
        {
            foreach (var (valueKey, points) in index.ValueBlocks(minPoints))
            {
                var rows = points.Where(o => o < _used && _live[o] && store.IsPresent(o)).ToArray();
                if (rows.Length > minPoints)
                    blocks.Add(new PayloadBlock(PayloadGraphSet.KeyOf(index.Path.ToString(), valueKey), new RowSubset(rows)));
            }
        }

        return blocks;
    }

    /// <summary>
    /// Builds a graph (with <paramref name="options"/>) over each block's rows. Only for a sealed segment: its rows
    /// and payloads never change (a payload change moves the point out), so the graphs stay exact but for deletes,
    /// which searches filter out. Needs no lock: sealed rows are immutable.
    /// </summary>
    public PayloadGraphSet BuildPayloadGraphs(int space, IReadOnlyList<PayloadBlock> blocks, HnswBuildOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blocks);
        ThrowIfNotSealed();
        var store = _stores[space];
        var dim = store.Dimension;
        var graphs = new Dictionary<string, PayloadGraph>(StringComparer.Ordinal);
        foreach (var block in blocks)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var rows = block.Rows.Rows;
            if (rows.Length > 0 && rows[^1] >= _used)
                throw new ArgumentException($"Block {block.Key} names row {rows[^1]} of a segment of {_used}.", nameof(blocks));
            // The value's vectors side by side for the build; the graph then reads them in place through its rows.
            var vectors = new float[(long)rows.Length * dim];
            for (var i = 0; i < rows.Length; i++)
                store.Get(rows[i]).CopyTo(vectors.AsSpan(i * dim, dim));
            var graph = Spaces[space].Metric switch
            {
                VectorMetric.Dot => HnswGraph.Build<DotKernel>(vectors, dim, rows.Length, options, null, cancellationToken),
                VectorMetric.NegSquaredL2 => HnswGraph.Build<NegSquaredL2Kernel>(vectors, dim, rows.Length, options, null, cancellationToken),
                _ => HnswGraph.Build<NegL1Kernel>(vectors, dim, rows.Length, options, null, cancellationToken),
            };
            graphs[block.Key] = new PayloadGraph(block.Rows, graph);
        }

        return new PayloadGraphSet(graphs);
    }

    /// <summary>Attaches payload graphs built over this sealed segment's rows; searches use them from the next query on.</summary>
    public void AttachPayloadGraphs(int space, PayloadGraphSet graphs)
    {
        ArgumentNullException.ThrowIfNull(graphs);
        ThrowIfNotSealed();
        Volatile.Write(ref _payloadGraphs[space], graphs);
    }

    /// <summary>
    /// The smallest payload graph whose value the filter requires (a top-level <c>must</c> match of one value on an
    /// indexed field), or null.
    /// </summary>
    private PayloadGraph? PayloadGraphFor(int space, Filter filter)
    {
        if (PayloadGraphs(space) is not { } set || filter.Must is not { } must)
            return null;
        PayloadGraph? best = null;
        foreach (var condition in must)
        {
            if (condition is not FieldCondition { Match: { } match } field || field.Range is not null || field.DatetimeRange is not null
                || field.ValuesCount is not null || field.IsEmpty is not null || field.IsNull is not null)
                continue;
            if (Indexes.Set.Get(field.Key) is { } index && index.BlockKey(match) is { } key && set.TryGet(field.Key, key, out var graph)
                && (best is null || graph.Rows.Count < best.Rows.Count))
                best = graph;
        }

        return best;
    }

    /// <summary>Walks a payload graph, checking the whole filter (and liveness) on the way.</summary>
    private int SearchPayloadGraph(PayloadGraph graph, int space, ReadOnlySpan<float> query, FilterPlan plan, int k, float? threshold, int ef, Span<ScoredId> buffer, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _payloadGraphSearches);
        var store = _stores[space];
        var accept = AcceptFor(space, plan);
        if (store.Compact is { } compact)
            return AtLeast(buffer, SearchCompactGraph(graph.Graph, graph.Rows, compact, space, query, k, Math.Max(ef, k), accept, buffer, cancellationToken), threshold);
        var data = store.Data[..(_used * store.Dimension)];
        var found = Spaces[space].Metric switch
        {
            VectorMetric.Dot => graph.Graph.SearchSubset<DotKernel>(query, data, graph.Rows, k, Math.Max(ef, k), accept, buffer, cancellationToken),
            VectorMetric.NegSquaredL2 => graph.Graph.SearchSubset<NegSquaredL2Kernel>(query, data, graph.Rows, k, Math.Max(ef, k), accept, buffer, cancellationToken),
            _ => graph.Graph.SearchSubset<NegL1Kernel>(query, data, graph.Rows, k, Math.Max(ef, k), accept, buffer, cancellationToken),
        };
        return AtLeast(buffer, found, threshold);
    }

    private void ThrowIfNotSealed()
    {
        if (!IsSealed)
            throw new InvalidOperationException("only a sealed segment's rows and payloads are stable enough for payload graphs or vector files");
    }
}
