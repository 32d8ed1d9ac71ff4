using System.Runtime.CompilerServices;
using Quiver.Kernels.Internal;

namespace Quiver.Kernels;

/// <summary>Negated Manhattan distance <c>-sum |a[i] - b[i]|</c> of uint8 vectors, summed exactly in integers.</summary>
public readonly struct ByteNegL1Kernel : IByteScoreKernel
{
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Score(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) => (float)-BytePairReduce.Reduce<ByteAbsDiffOp>(a, b);

    // Fixed-width entry points, so tests and benchmarks can reach every path of the cascade
    // whatever the machine picks.
    internal static float ScoreScalar(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) => (float)-BytePairReduce.ReduceScalar<ByteAbsDiffOp>(a, b);

    internal static float ScoreVector128(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) => (float)-BytePairReduce.Reduce128<ByteAbsDiffOp>(a, b);

    internal static float ScoreVector256(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) => (float)-BytePairReduce.Reduce256<ByteAbsDiffOp>(a, b);

    internal static float ScoreVector512(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) => (float)-BytePairReduce.Reduce512<ByteAbsDiffOp>(a, b);
}
