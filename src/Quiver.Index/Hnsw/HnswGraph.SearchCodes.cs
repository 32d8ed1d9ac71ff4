using System.Buffers;
using System.Runtime.CompilerServices;
using Quiver.Index.Internal;
using Quiver.Index.Quantization;
using Quiver.Kernels;

namespace Quiver.Index.Hnsw;

public sealed partial class HnswGraph
{
    /// <summary>Queries up to this many dimensions are encoded on the stack.</summary>
    private const int StackCodeBytes = 2048;

    /// <summary>
    /// As <see cref="Search{TKernel}"/>, but the walk scores nodes by their scalar codes (a quarter of the bytes of
    /// float rows) against <paramref name="query"/>, encoded here with the codes' quantizer. Scores are the decoded
    /// rows' scores on the float metric's scale, so callers can rescore the best of them with the full vectors and
    /// compare. <typeparamref name="TKernel"/> is the uint8 counterpart of the metric the graph was built with (dot
    /// for dot and cosine, squared L2, L1).
    /// </summary>
    /// <exception cref="ArgumentException">Wrong query length, codes for fewer rows than nodes, or <paramref name="results"/> too short.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled.</exception>
    /// <exception cref="NotSupportedException">A kernel the codes cannot score with.</exception>
    [SkipLocalsInit]
    public int SearchCodes<TKernel>(
        QuantizedVectors codes,
        ReadOnlySpan<float> query,
        int k,
        int ef,
        IGraphFilter? filter,
        Span<ScoredId> results,
        CancellationToken ct = default)
        where TKernel : struct, IByteScoreKernel
    {
        CheckCodes(codes, query, k, results);

        // Encoded once per query: the code itself, and for the dot product its signed, padded form.
        var padded = CodeDotKernel.PaddedLength(_dim);
        byte[]? rented = null;
        var buffer = padded * 2 <= StackCodeBytes ? stackalloc byte[StackCodeBytes] : (rented = ArrayPool<byte>.Shared.Rent(padded * 2));
        try
        {
            var unused = 0;
            var code = buffer[..padded];
            if (typeof(TKernel) == typeof(ByteDotKernel))
            {
                var signed = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(buffer.Slice(padded, padded));
                var sum = codes.EncodeSigned(query, signed, code);
                CodeDotKernel.AlignTail(signed, _dim);
                var (offset, rowScale, scale) = codes.ScoreTransform<ByteDotKernel>(sum, signedQuery: true);
                var scorer = new DotCodeScorer<DenseRows>(signed, _dim, ref codes.RowsReference, codes.Stride, ref unused, offset, rowScale, scale);
                return SearchCore(scorer, codes.Count, k, ef, filter, results, ct);
            }
            else
            {
                var sum = codes.Encode(query, code[.._dim]);
                var (_, _, scale) = codes.ScoreTransform<TKernel>(sum);
                var scorer = new CodeScorer<TKernel, DenseRows>(code[.._dim], ref codes.RowsReference, codes.Stride, ref unused, scale);
                return SearchCore(scorer, codes.Count, k, ef, filter, results, ct);
            }
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// As <see cref="Search{TKernel}"/>, but the walk scores nodes by their binary codes: by Hamming distance to the
    /// query's code (scores <c>1 - 2·hamming / bits</c>), or with <paramref name="asymmetric"/> by the float query's
    /// dot product with the components the codes stand for (scores approximate the dot product).
    /// </summary>
    /// <exception cref="ArgumentException">Wrong query length, codes for fewer rows than nodes, or <paramref name="results"/> too short.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled.</exception>
    [SkipLocalsInit]
    public int SearchBinary(
        BinaryCodes codes,
        ReadOnlySpan<float> query,
        bool asymmetric,
        int k,
        int ef,
        IGraphFilter? filter,
        Span<ScoredId> results,
        CancellationToken ct = default)
    {
        CheckCodes(codes, query, k, results);

        var quantizer = codes.Quantizer;
        var words = quantizer.Words;
        var unused = 0;
        if (!asymmetric)
        {
            ulong[]? pooled = null;
            var code = words <= 64 ? stackalloc ulong[64] : (pooled = ArrayPool<ulong>.Shared.Rent(words));
            try
            {
                quantizer.Encode(query, code[..words]);
                var scorer = new HammingScorer<DenseRows>(code[..words], ref codes.WordsReference, ref unused, 2f / quantizer.Bits);
                return SearchCore(scorer, codes.Count, k, ef, filter, results, ct);
            }
            finally
            {
                if (pooled is not null)
                {
                    ArrayPool<ulong>.Shared.Return(pooled);
                }
            }
        }

        // Per query: the weight of every bit, then per group of four bits the sums of its 16 subsets.
        var tableLength = words * 256;
        float[]? rented = null;
        var buffer = tableLength + (words * 64) <= 8192 ? stackalloc float[8192] : (rented = ArrayPool<float>.Shared.Rent(tableLength + (words * 64)));
        try
        {
            var weights = buffer.Slice(tableLength, words * 64);
            weights.Clear();
            var constant = quantizer.QueryWeights(query, weights);
            var table = buffer[..tableLength];
            for (var group = 0; group < words * 16; group++)
            {
                var entries = table.Slice(group * 16, 16);
                var w = weights.Slice(group * 4, 4);
                for (var mask = 0; mask < 16; mask++)
                {
                    entries[mask] = ((mask & 1) != 0 ? w[0] : 0f) + ((mask & 2) != 0 ? w[1] : 0f)
                        + ((mask & 4) != 0 ? w[2] : 0f) + ((mask & 8) != 0 ? w[3] : 0f);
                }
            }

            var scorer = new BinaryTableScorer<DenseRows>(table, ref codes.WordsReference, words, ref unused, constant);
            return SearchCore(scorer, codes.Count, k, ef, filter, results, ct);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<float>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// As <see cref="Search{TKernel}"/>, but the walk scores nodes by their product-quantization codes against a
    /// per-query table of centroid scores (<paramref name="score"/>: the metric the graph was built with). Scores
    /// approximate the metric's own (the decoded rows' scores).
    /// </summary>
    /// <exception cref="ArgumentException">Wrong query length, codes for fewer rows than nodes, or <paramref name="results"/> too short.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled.</exception>
    public int SearchProduct(
        ProductCodes codes,
        ReadOnlySpan<float> query,
        ProductScore score,
        int k,
        int ef,
        IGraphFilter? filter,
        Span<ScoredId> results,
        CancellationToken ct = default)
    {
        CheckCodes(codes, query, k, results);

        var subspaces = codes.Quantizer.Subspaces;
        // The table is large (1 KB a subspace): borrowed, so a warm search allocates nothing.
        var table = ArrayPool<float>.Shared.Rent(subspaces * ProductQuantizer.MaxCentroids);
        try
        {
            codes.Quantizer.ScoreTable(query, score, table);
            var unused = 0;
            var scorer = new ProductTableScorer<DenseRows>(table.AsSpan(0, subspaces * ProductQuantizer.MaxCentroids), ref codes.CodesReference, subspaces, ref unused);
            return SearchCore(scorer, codes.Count, k, ef, filter, results, ct);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(table);
        }
    }

    /// <summary>The checks every walk on codes makes: the query, the results buffer, and codes for every node.</summary>
    private void CheckCodes(QuantizedCodes codes, ReadOnlySpan<float> query, int k, Span<ScoredId> results)
    {
        ArgumentNullException.ThrowIfNull(codes);
        var count = Count;
        CheckArguments(query, k, results, count);
        if (codes.Count < count)
        {
            throw new ArgumentException($"{count} nodes need a code each; {codes.Count} given.", nameof(codes));
        }

        if (codes.Dimension != _dim)
        {
            throw new ArgumentException($"Codes have {codes.Dimension} dimensions; the graph has {_dim}.", nameof(codes));
        }
    }
}
