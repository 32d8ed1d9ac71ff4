using System.Runtime.CompilerServices;
using Quiver.Index.Internal;
using Quiver.Index.Quantization;
using Quiver.Kernels;

namespace Quiver.Index.Hnsw;

public sealed partial class HnswGraph
{
    /// <summary>
    /// As <see cref="Search{TKernel}"/>, but the walk scores nodes by their scalar codes (a quarter of the bytes of
    /// float rows) against <paramref name="query"/> encoded with the same quantizer, whose codes sum to
    /// <paramref name="querySum"/>. Scores are the decoded rows' scores on the float metric's scale, so callers can
    /// rescore the best of them with the full vectors and compare. <typeparamref name="TKernel"/> is the uint8
    /// counterpart of the metric the graph was built with (dot for dot and cosine, squared L2, L1).
    /// </summary>
    /// <exception cref="ArgumentException">Wrong query length, codes for fewer rows than nodes, or <paramref name="results"/> too short.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled.</exception>
    [SkipLocalsInit]
    public int SearchCodes<TKernel>(
        QuantizedVectors codes,
        ReadOnlySpan<byte> query,
        long querySum,
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

        var (offset, scale) = codes.ScoreTransform<TKernel>(querySum);
        var unused = 0;
        var scorer = new CodeScorer<TKernel, DenseRows>(query, ref codes.CodesReference, ref codes.RowTermsReference, ref unused, offset, scale);
        return SearchCore(scorer, codes.Count, k, ef, filter, results, ct);
    }
}
