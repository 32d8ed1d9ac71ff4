using System.Runtime.CompilerServices;
using Quiver.Kernels.Internal;

namespace Quiver.Kernels;

/// <summary>Negated Manhattan distance <c>-sum |a[i] - b[i]|</c>.</summary>
public readonly struct NegL1Kernel : IScoreKernel
{
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Score(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => -PairReduce.Reduce<AbsDiffOp>(a, b);

    /// <inheritdoc/>
    /// <remarks>The L1 distance only grows term by term: it stops once past <c>-floor</c>.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ScoreAtLeast(ReadOnlySpan<float> a, ReadOnlySpan<float> b, float floor) => -BoundedReduce.Reduce<AbsDiffOp>(a, b, -floor);

    // Fixed-width entry points, so tests and benchmarks can reach every path of the cascade
    // whatever the machine picks.
    internal static float ScoreScalar(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => -PairReduce.ReduceScalar<AbsDiffOp>(a, b);

    internal static float ScoreVector128(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => -PairReduce.Reduce128<AbsDiffOp>(a, b);

    internal static float ScoreVector256(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => -PairReduce.Reduce256<AbsDiffOp>(a, b);

    internal static float ScoreVector512(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => -PairReduce.Reduce512<AbsDiffOp>(a, b);
}
