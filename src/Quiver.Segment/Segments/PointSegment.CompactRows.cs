using Quiver.Index.Hnsw;
using Quiver.Kernels;
using Quiver.Segment.Internal;
using Quiver.Segment.PayloadIndex;

namespace Quiver.Segment.Segments;

/// <summary>
/// Searches over a sealed space's compact rows (datatype float16 or uint8): graph walks, exact scans and rescoring
/// read the stored values widened to float32 by the kernel, so they score exactly as the float32 rows of the same
/// values would. One switch per query picks the kernel; the loops are compiled per kernel and element type.
/// </summary>
public sealed partial class PointSegment
{
    private int SearchCompactGraph(HnswGraph graph, RowSubset? subset, CompactRows rows, int space, ReadOnlySpan<float> query, int k, int ef, IGraphFilter? accept, Span<ScoredId> buffer, CancellationToken cancellationToken) =>
        (rows.Datatype, Spaces[space].Metric) switch
        {
            (VectorDatatype.Float16, VectorMetric.Dot) => graph.SearchCompact<HalfDotKernel, Half>(query, rows.Halves, subset, k, ef, accept, buffer, cancellationToken),
            (VectorDatatype.Float16, VectorMetric.NegSquaredL2) => graph.SearchCompact<HalfNegSquaredL2Kernel, Half>(query, rows.Halves, subset, k, ef, accept, buffer, cancellationToken),
            (VectorDatatype.Float16, _) => graph.SearchCompact<HalfNegL1Kernel, Half>(query, rows.Halves, subset, k, ef, accept, buffer, cancellationToken),
            (_, VectorMetric.Dot) => graph.SearchCompact<UInt8DotKernel, byte>(query, rows.Octets, subset, k, ef, accept, buffer, cancellationToken),
            (_, VectorMetric.NegSquaredL2) => graph.SearchCompact<UInt8NegSquaredL2Kernel, byte>(query, rows.Octets, subset, k, ef, accept, buffer, cancellationToken),
            _ => graph.SearchCompact<UInt8NegL1Kernel, byte>(query, rows.Octets, subset, k, ef, accept, buffer, cancellationToken),
        };

    /// <summary>As the float32 scan: the rows from offset <paramref name="from"/> on that pass the plan, into <paramref name="topK"/>.</summary>
    private void ScanCompact(int space, DenseVectorStore store, CompactRows rows, ReadOnlySpan<float> query, FilterPlan? plan, TopK topK, float threshold, int from, CancellationToken cancellationToken)
    {
        switch (rows.Datatype, Spaces[space].Metric)
        {
            case (VectorDatatype.Float16, VectorMetric.Dot):
                ScanCompact<HalfDotKernel, Half>(store, rows.Halves, query, plan, topK, threshold, from, cancellationToken);
                break;
            case (VectorDatatype.Float16, VectorMetric.NegSquaredL2):
                ScanCompact<HalfNegSquaredL2Kernel, Half>(store, rows.Halves, query, plan, topK, threshold, from, cancellationToken);
                break;
            case (VectorDatatype.Float16, _):
                ScanCompact<HalfNegL1Kernel, Half>(store, rows.Halves, query, plan, topK, threshold, from, cancellationToken);
                break;
            case (_, VectorMetric.Dot):
                ScanCompact<UInt8DotKernel, byte>(store, rows.Octets, query, plan, topK, threshold, from, cancellationToken);
                break;
            case (_, VectorMetric.NegSquaredL2):
                ScanCompact<UInt8NegSquaredL2Kernel, byte>(store, rows.Octets, query, plan, topK, threshold, from, cancellationToken);
                break;
            default:
                ScanCompact<UInt8NegL1Kernel, byte>(store, rows.Octets, query, plan, topK, threshold, from, cancellationToken);
                break;
        }

        GC.KeepAlive(rows);
    }

    private void ScanCompact<TKernel, TElement>(DenseVectorStore store, ReadOnlySpan<TElement> rows, ReadOnlySpan<float> query, FilterPlan? plan, TopK topK, float threshold, int from, CancellationToken cancellationToken)
        where TKernel : struct, IRowScoreKernel<TElement>
        where TElement : unmanaged
    {
        var dim = store.Dimension;
        // The index answered the whole filter: score the candidates straight off the array.
        if (plan is { CandidatesAreExact: true, Candidates: int[] exact })
        {
            for (var i = 0; i < exact.Length; i++)
            {
                if ((i & (CancellationCheckInterval - 1)) == 0)
                    cancellationToken.ThrowIfCancellationRequested();
                var offset = exact[i];
                if (offset >= from && _live[offset] && store.IsPresent(offset))
                    OfferCompact<TKernel, TElement>(query, rows.Slice(offset * dim, dim), offset, topK, threshold);
            }

            return;
        }

        var cursor = new Cursor(this);
        var checkedCount = 0;
        foreach (var offset in plan?.Candidates ?? (IEnumerable<int>)Enumerable.Range(from, _used - from))
        {
            if ((++checkedCount & (CancellationCheckInterval - 1)) == 0)
                cancellationToken.ThrowIfCancellationRequested();
            if (offset < from || !_live[offset] || !store.IsPresent(offset))
                continue;
            cursor.Offset = offset;
            if (plan is null || plan.CandidatesAreExact || plan.Filter.Matches(cursor))
                OfferCompact<TKernel, TElement>(query, rows.Slice(offset * dim, dim), offset, topK, threshold);
        }
    }

    private static void OfferCompact<TKernel, TElement>(ReadOnlySpan<float> query, ReadOnlySpan<TElement> row, int offset, TopK topK, float threshold)
        where TKernel : struct, IRowScoreKernel<TElement>
        where TElement : unmanaged
    {
        var score = TKernel.Score(query, row);
        if (score >= threshold)
            topK.TryAdd(score, offset);
    }

    /// <summary>Scores code-walk candidates with their compact rows into <paramref name="topK"/>.</summary>
    private void RescoreCompact(int space, CompactRows rows, ReadOnlySpan<float> query, ReadOnlySpan<ScoredId> candidates, TopK topK)
    {
        var dim = _stores[space].Dimension;
        switch (rows.Datatype, Spaces[space].Metric)
        {
            case (VectorDatatype.Float16, VectorMetric.Dot):
                RescoreCompact<HalfDotKernel, Half>(rows.Halves, dim, query, candidates, topK);
                break;
            case (VectorDatatype.Float16, VectorMetric.NegSquaredL2):
                RescoreCompact<HalfNegSquaredL2Kernel, Half>(rows.Halves, dim, query, candidates, topK);
                break;
            case (VectorDatatype.Float16, _):
                RescoreCompact<HalfNegL1Kernel, Half>(rows.Halves, dim, query, candidates, topK);
                break;
            case (_, VectorMetric.Dot):
                RescoreCompact<UInt8DotKernel, byte>(rows.Octets, dim, query, candidates, topK);
                break;
            case (_, VectorMetric.NegSquaredL2):
                RescoreCompact<UInt8NegSquaredL2Kernel, byte>(rows.Octets, dim, query, candidates, topK);
                break;
            default:
                RescoreCompact<UInt8NegL1Kernel, byte>(rows.Octets, dim, query, candidates, topK);
                break;
        }

        GC.KeepAlive(rows);
    }

    private static void RescoreCompact<TKernel, TElement>(ReadOnlySpan<TElement> rows, int dim, ReadOnlySpan<float> query, ReadOnlySpan<ScoredId> candidates, TopK topK)
        where TKernel : struct, IRowScoreKernel<TElement>
        where TElement : unmanaged
    {
        foreach (var candidate in candidates)
            topK.TryAdd(TKernel.Score(query, rows.Slice(candidate.Id * dim, dim)), candidate.Id);
    }
}
