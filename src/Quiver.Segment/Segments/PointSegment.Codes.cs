using System.Buffers;
using System.Runtime.CompilerServices;
using Quiver.Index.Hnsw;
using Quiver.Index.Quantization;
using Quiver.Kernels;
using Quiver.Segment.PayloadIndex;

namespace Quiver.Segment.Segments;

public sealed partial class PointSegment
{
    /// <summary>Queries up to this many dimensions are encoded on the stack.</summary>
    private const int StackCodeBytes = 4096;

    [ThreadStatic]
    private static ScoredId[]? _threadCodeCandidates;

    /// <summary>The scalar codes of a space, once attached.</summary>
    public QuantizedVectors? Codes(int space) => Volatile.Read(ref _codes[space]);

    /// <summary>Bytes held by quantized codes.</summary>
    public long CodeBytes => _codes.Sum(c => c?.Bytes ?? 0);

    /// <summary>
    /// Learns a scalar quantizer from a sealed segment's rows of <paramref name="space"/> (those with a vector) and
    /// encodes every row; rows without a vector get codes too (they are never returned).
    /// </summary>
    public QuantizedVectors BuildCodes(int space, double? quantile)
    {
        if (!IsSealed)
            throw new InvalidOperationException("only a sealed segment's rows are stable enough to encode");
        var store = _stores[space];
        var rows = store.Data[..(_used * store.Dimension)];
        return ScalarQuantizer.Train(rows, store.Dimension, quantile).EncodeAll(rows);
    }

    /// <summary>Attaches codes of every row of a sealed segment's space; graph walks use them from the next query on.</summary>
    public void AttachCodes(int space, QuantizedVectors codes)
    {
        ArgumentNullException.ThrowIfNull(codes);
        if (!IsSealed)
            throw new InvalidOperationException("only a sealed segment's rows can be encoded");
        if (codes.Quantizer.Dimension != _stores[space].Dimension || codes.Count != _used)
            throw new ArgumentException($"codes of {codes.Count} rows of {codes.Quantizer.Dimension} do not fit space '{_stores[space].Name}' ({_used} rows of {_stores[space].Dimension})", nameof(codes));
        Volatile.Write(ref _codes[space], codes);
    }

    /// <summary>Drops a space's codes (quantization switched off); queries running on them finish on them.</summary>
    public void DetachCodes(int space) => Volatile.Write(ref _codes[space], null);

    /// <summary>
    /// The graph walk on codes: the best <c>k · oversampling</c> nodes by their decoded scores, then, unless
    /// rescoring is off, those candidates scored with the full vectors and the best <paramref name="k"/> kept.
    /// </summary>
    [SkipLocalsInit]
    private int SearchGraphCodes(HnswGraph graph, QuantizedVectors codes, int space, ReadOnlySpan<float> query, FilterPlan? plan, int k, float? threshold, SegmentSearchParams parameters, Span<ScoredId> buffer, CancellationToken cancellationToken)
    {
        var store = _stores[space];
        var dim = store.Dimension;
        var wanted = parameters.Quantization.Candidates(k);
        var candidates = Rent(ref _threadCodeCandidates, wanted);
        byte[]? rented = null;
        var code = dim <= StackCodeBytes ? stackalloc byte[StackCodeBytes] : (rented = ArrayPool<byte>.Shared.Rent(dim));
        try
        {
            var encoded = code[..dim];
            var sum = codes.Encode(query, encoded);
            IGraphFilter? accept = plan is null && store.PresentCount == _used ? null : AcceptFor(space, plan);
            var ef = Math.Max(parameters.Ef, wanted);
            var found = Spaces[space].Metric switch
            {
                VectorMetric.Dot => graph.SearchCodes<ByteDotKernel>(codes, encoded, sum, wanted, ef, accept, candidates, cancellationToken),
                VectorMetric.NegSquaredL2 => graph.SearchCodes<ByteNegSquaredL2Kernel>(codes, encoded, sum, wanted, ef, accept, candidates, cancellationToken),
                _ => graph.SearchCodes<ByteNegL1Kernel>(codes, encoded, sum, wanted, ef, accept, candidates, cancellationToken),
            };
            if (parameters.Quantization.Rescore == false)
            {
                var n = Math.Min(found, k);
                candidates.AsSpan(0, n).CopyTo(buffer);
                return AtLeast(buffer, n, threshold);
            }

            var topK = _threadTopK ??= new TopK(k);
            topK.Reset(k);
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
        finally
        {
            if (rented is not null)
                ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Scores the candidates with their full rows into <paramref name="topK"/>, loading rows a few ahead.</summary>
    private static void Rescore<TKernel>(DenseVectorStore store, ReadOnlySpan<float> query, ReadOnlySpan<ScoredId> candidates, TopK topK)
        where TKernel : struct, IScoreKernel
    {
        const int ahead = 4;
        var data = store.Data;
        var dim = store.Dimension;
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
