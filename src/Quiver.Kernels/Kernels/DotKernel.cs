using System.Runtime.CompilerServices;
using Quiver.Kernels.Internal;

namespace Quiver.Kernels;

/// <summary>Dot product <c>sum a[i] * b[i]</c>. Cosine similarity is this kernel over vectors normalised at insert (see <see cref="VectorMath.Normalize"/>).</summary>
public readonly struct DotKernel : IScoreKernel
{
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Score(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => PairReduce.Reduce<DotOp>(a, b);

    /// <inheritdoc/>
    /// <remarks>A dot product can still grow with any term, so it is always computed whole.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ScoreAtLeast(ReadOnlySpan<float> a, ReadOnlySpan<float> b, float floor) => PairReduce.Reduce<DotOp>(a, b);

    // Fixed-width entry points, so tests and benchmarks can reach every path of the cascade
    // whatever the machine picks.
    internal static float ScoreScalar(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => PairReduce.ReduceScalar<DotOp>(a, b);

    internal static float ScoreVector128(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => PairReduce.Reduce128<DotOp>(a, b);

    internal static float ScoreVector256(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => PairReduce.Reduce256<DotOp>(a, b);

    internal static float ScoreVector512(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => PairReduce.Reduce512<DotOp>(a, b);
}
