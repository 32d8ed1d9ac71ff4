using System.Runtime.CompilerServices;
using Quiver.Kernels.Internal;

namespace Quiver.Kernels;

/// <summary>Dot product <c>sum a[i] * b[i]</c> of uint8 vectors, summed exactly in integers and returned as <see cref="float"/>.</summary>
public readonly struct ByteDotKernel : IByteScoreKernel
{
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Score(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) => (float)BytePairReduce.Reduce<ByteDotOp>(a, b);

    // Fixed-width entry points, so tests and benchmarks can reach every path of the cascade
    // whatever the machine picks.
    internal static float ScoreScalar(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) => (float)BytePairReduce.ReduceScalar<ByteDotOp>(a, b);

    internal static float ScoreVector128(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) => (float)BytePairReduce.Reduce128<ByteDotOp>(a, b);

    internal static float ScoreVector256(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) => (float)BytePairReduce.Reduce256<ByteDotOp>(a, b);

    internal static float ScoreVector512(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) => (float)BytePairReduce.Reduce512<ByteDotOp>(a, b);
}
