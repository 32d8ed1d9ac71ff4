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
        ArgumentNullException.ThrowIfNull(codes);
        var count = Count;
        CheckArguments(query, k, results, count);
        if (codes.Count < count)
        {
            throw new ArgumentException($"{count} nodes need a code each; {codes.Count} given.", nameof(codes));
        }

        if (codes.Quantizer.Dimension != _dim)
        {
            throw new ArgumentException($"Codes have {codes.Quantizer.Dimension} dimensions; the graph has {_dim}.", nameof(codes));
        }

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
                var (offset, rowScale, scale) = codes.ScoreTransform<ByteDotKernel>(sum, signedQuery: true);
                var scorer = new DotCodeScorer<DenseRows>(signed, ref codes.RowsReference, codes.Stride, ref unused, offset, rowScale, scale);
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
}
