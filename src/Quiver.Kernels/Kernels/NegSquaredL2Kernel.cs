using System.Runtime.CompilerServices;
using Quiver.Kernels.Internal;

namespace Quiver.Kernels;

/// <summary>Negated squared Euclidean distance <c>-sum (a[i] - b[i])^2</c>. The API edge converts back with <c>sqrt(-score)</c>.</summary>
public readonly struct NegSquaredL2Kernel : IScoreKernel
{
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Score(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => -PairReduce.Reduce<SquaredDiffOp>(a, b);

    /// <inheritdoc/>
    /// <remarks>The squared distance only grows term by term: it stops once past <c>-floor</c>.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ScoreAtLeast(ReadOnlySpan<float> a, ReadOnlySpan<float> b, float floor) => -BoundedReduce.Reduce<SquaredDiffOp>(a, b, -floor);

    internal static float ScoreAtLeastVector256(ReadOnlySpan<float> a, ReadOnlySpan<float> b, float floor) => -BoundedReduce.Reduce256<SquaredDiffOp>(a, b, -floor);

    internal static float ScoreAtLeastVector512(ReadOnlySpan<float> a, ReadOnlySpan<float> b, float floor) => -BoundedReduce.Reduce512<SquaredDiffOp>(a, b, -floor);

    // Fixed-width entry points, so tests and benchmarks can reach every path of the cascade
    // whatever the machine picks.
    internal static float ScoreScalar(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => -PairReduce.ReduceScalar<SquaredDiffOp>(a, b);

    internal static float ScoreVector128(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => -PairReduce.Reduce128<SquaredDiffOp>(a, b);

    internal static float ScoreVector256(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => -PairReduce.Reduce256<SquaredDiffOp>(a, b);

    internal static float ScoreVector512(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => -PairReduce.Reduce512<SquaredDiffOp>(a, b);
}
