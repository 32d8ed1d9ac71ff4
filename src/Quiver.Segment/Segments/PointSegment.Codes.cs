using System.Buffers;
using Quiver.Index;
using Quiver.Index.Hnsw;
using Quiver.Index.Quantization;
using Quiver.Kernels;
using Quiver.Segment.PayloadIndex;

namespace Quiver.Segment.Segments;

public sealed partial class PointSegment
{
    /// <summary>Candidate lists up to this long are kept per thread.</summary>
    private const int MaxCachedCandidates = 4096;

    /// <summary>Ids are prefetched before rescoring only when there are at most this many candidates.</summary>
    private const int MaxIdentityPrefetch = 64;

    [ThreadStatic]
    private static ScoredId[]? _threadCodeCandidates;

    /// <summary>The quantized codes of a space, once attached.</summary>
    public QuantizedCodes? Codes(int space) => Volatile.Read(ref _codes[space]);

    /// <summary>Bytes held by quantized codes.</summary>
    public long CodeBytes => _codes.Sum(c => c?.Bytes ?? 0);

    /// <summary>
    /// Learns a scalar quantizer from a sealed segment's rows of <paramref name="space"/> that hold a vector and
    /// encodes every row; rows without a vector get codes too (they are never returned).
    /// </summary>
    public QuantizedVectors BuildScalarCodes(int space, double? quantile, CancellationToken cancellationToken = default)
    {
        var (rows, training) = RowsToEncode(space);
        return ScalarQuantizer.Train(training.Span, _stores[space].Dimension, quantile).EncodeAll(rows.Span, cancellationToken);
    }

    /// <summary>As <see cref="BuildScalarCodes"/> for binary codes.</summary>
    public BinaryCodes BuildBinaryCodes(int space, BinaryEncoding encoding, bool asymmetricQuery, CancellationToken cancellationToken = default)
    {
        var (rows, training) = RowsToEncode(space);
        return BinaryQuantizer.Train(training.Span, _stores[space].Dimension, encoding).EncodeAll(rows.Span, asymmetricQuery, cancellationToken);
    }

    /// <summary>As <see cref="BuildScalarCodes"/> for product-quantization codes of <paramref name="subspaces"/> bytes a row.</summary>
    public ProductCodes BuildProductCodes(int space, int subspaces, int threads, CancellationToken cancellationToken = default)
    {
        var (rows, training) = RowsToEncode(space);
        return ProductQuantizer.Train(training.Span, _stores[space].Dimension, subspaces, threads, cancellationToken: cancellationToken).EncodeAll(rows, threads, cancellationToken);
    }

    /// <summary>
    /// Every row of a sealed segment's space, and the rows a quantizer learns from: those that hold a vector (the
    /// zero rows of points without one would skew what it learns).
    /// </summary>
    private (ReadOnlyMemory<float> Rows, ReadOnlyMemory<float> Training) RowsToEncode(int space)
    {
        if (!IsSealed)
            throw new InvalidOperationException("only a sealed segment's rows are stable enough to encode");
        var store = _stores[space];
        var dim = store.Dimension;
        var rows = store.Rows(_used);
        if (store.PresentCount == _used)
            return (rows, rows);
        var present = new float[(long)store.PresentCount * dim];
        var n = 0;
        var data = rows.Span;
        for (var offset = 0; offset < _used; offset++)
        {
            if (store.IsPresent(offset))
                data.Slice(offset * dim, dim).CopyTo(present.AsSpan(n++ * dim, dim));
        }

        return (rows, present);
    }

    /// <summary>Attaches codes of every row of a sealed segment's space; graph walks use them from the next query on.</summary>
    public void AttachCodes(int space, QuantizedCodes codes)
    {
        ArgumentNullException.ThrowIfNull(codes);
        if (!IsSealed)
            throw new InvalidOperationException("only a sealed segment's rows can be encoded");
        if (codes.Dimension != _stores[space].Dimension || codes.Count != _used)
            throw new ArgumentException($"codes of {codes.Count} rows of {codes.Dimension} do not fit space '{_stores[space].Name}' ({_used} rows of {_stores[space].Dimension})", nameof(codes));
        Volatile.Write(ref _codes[space], codes);
    }

    /// <summary>Drops a space's codes (quantization switched off); queries running on them finish on them.</summary>
    public void DetachCodes(int space) => Volatile.Write(ref _codes[space], null);

    /// <summary>
    /// The graph walk on codes: the best <c>k · oversampling</c> nodes by their decoded scores, then, unless
    /// rescoring is off, those candidates scored with the full vectors and the best <paramref name="k"/> kept.
    /// </summary>
    private int SearchGraphCodes(HnswGraph graph, QuantizedCodes codes, int space, ReadOnlySpan<float> query, FilterPlan? plan, int k, float? threshold, SegmentSearchParams parameters, Span<ScoredId> buffer, CancellationToken cancellationToken)
    {
        // More candidates than nodes cannot be found; a candidate list past the cached size is borrowed, so one
        // huge query does not leave every thread holding its buffer.
        var wanted = Math.Min(parameters.Quantization.Candidates(k), Math.Max(k, graph.Count));
        if (wanted <= MaxCachedCandidates)
            return SearchGraphCodes(graph, codes, space, query, plan, k, wanted, threshold, parameters, buffer, Rent(ref _threadCodeCandidates, wanted), cancellationToken);
        var borrowed = ArrayPool<ScoredId>.Shared.Rent(wanted);
        try
        {
            return SearchGraphCodes(graph, codes, space, query, plan, k, wanted, threshold, parameters, buffer, borrowed, cancellationToken);
        }
        finally
        {
            ArrayPool<ScoredId>.Shared.Return(borrowed);
        }
    }

    private int SearchGraphCodes(HnswGraph graph, QuantizedCodes codes, int space, ReadOnlySpan<float> query, FilterPlan? plan, int k, int wanted, float? threshold, SegmentSearchParams parameters, Span<ScoredId> buffer, ScoredId[] candidates, CancellationToken cancellationToken)
    {
        var store = _stores[space];
        IGraphFilter? accept = plan is null && store.PresentCount == _used ? null : AcceptFor(space, plan);
        var ef = Math.Max(parameters.Ef, wanted);
        var metric = Spaces[space].Metric;
        var found = codes switch
        {
            QuantizedVectors scalar => metric switch
            {
                VectorMetric.Dot => graph.SearchCodes<ByteDotKernel>(scalar, query, wanted, ef, accept, candidates, cancellationToken),
                VectorMetric.NegSquaredL2 => graph.SearchCodes<ByteNegSquaredL2Kernel>(scalar, query, wanted, ef, accept, candidates, cancellationToken),
                _ => graph.SearchCodes<ByteNegL1Kernel>(scalar, query, wanted, ef, accept, candidates, cancellationToken),
            },
            // The asymmetric score is a dot product: other metrics compare binary codes by Hamming distance.
            BinaryCodes binary => graph.SearchBinary(binary, query, binary.AsymmetricQuery && metric == VectorMetric.Dot, wanted, ef, accept, candidates, cancellationToken),
            ProductCodes product => graph.SearchProduct(product, query, metric switch
            {
                VectorMetric.Dot => ProductScore.Dot,
                VectorMetric.NegSquaredL2 => ProductScore.NegSquaredL2,
                _ => ProductScore.NegL1,
            }, wanted, ef, accept, candidates, cancellationToken),
            _ => throw new InvalidOperationException($"codes of kind {codes.GetType().Name} cannot be searched"),
        };
        // Hamming similarities are not on the metric's scale (a Euclid distance, a threshold, a merge with exactly
        // scored segments would all read them wrong): binary codes compared by Hamming distance are always rescored.
        var onMetricScale = codes is not BinaryCodes binaryCodes || (binaryCodes.AsymmetricQuery && metric == VectorMetric.Dot);
        if (parameters.Quantization.Rescore == false && onMetricScale)
        {
            var n = Math.Min(found, k);
            candidates.AsSpan(0, n).CopyTo(buffer);
            return AtLeast(buffer, n, threshold);
        }

        // The candidates rescoring keeps have their ids read next: requested now, they arrive while it runs. Only
        // for the usual few candidates (k times a small oversampling): of thousands, most lines would be wasted.
        if (found <= MaxIdentityPrefetch)
        {
            for (var i = 0; i < found; i++)
                PrefetchIdentity(candidates[i].Id);
        }

        var topK = _threadTopK ??= new TopK(k);
        topK.Reset(k);
        if (store.Compact is { } compact)
        {
            RescoreCompact(space, compact, query, candidates.AsSpan(0, found), topK);
            return AtLeast(buffer, topK.DrainSortedDescending(buffer), threshold);
        }

        switch (Spaces[space].Metric)
        {
            case VectorMetric.Dot:
                Rescore<DotKernel>(store, query, candidates.AsSpan(0, found), topK);
                break;
            case VectorMetric.NegSquaredL2:
                Rescore<NegSquaredL2Kernel>(store, query, candidates.AsSpan(0, found), topK);
                break;
            default:
                Rescore<NegL1Kernel>(store, query, candidates.AsSpan(0, found), topK);
                break;
        }

        return AtLeast(buffer, topK.DrainSortedDescending(buffer), threshold);
    }

    /// <summary>Scores the candidates with their full rows into <paramref name="topK"/>, loading rows a few ahead.</summary>
    private static void Rescore<TKernel>(DenseVectorStore store, ReadOnlySpan<float> query, ReadOnlySpan<ScoredId> candidates, TopK topK)
        where TKernel : struct, IScoreKernel
    {
        var data = store.Data;
        var dim = store.Dimension;
        var ahead = RowPrefetch.Window(dim * sizeof(float));
        for (var i = 0; i < candidates.Length && i < ahead; i++)
            PrefetchRow(data, candidates[i].Id, dim);
        for (var i = 0; i < candidates.Length; i++)
        {
            if (i + ahead < candidates.Length)
                PrefetchRow(data, candidates[i + ahead].Id, dim);
            var id = candidates[i].Id;
            topK.TryAdd(TKernel.ScoreAtLeast(query, data.Slice(id * dim, dim), topK.Threshold), id);
        }
    }
}
