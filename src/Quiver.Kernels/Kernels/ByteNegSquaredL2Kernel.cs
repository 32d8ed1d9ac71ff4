using System.Runtime.CompilerServices;
using Quiver.Kernels.Internal;

namespace Quiver.Kernels;

/// <summary>Negated squared Euclidean distance <c>-sum (a[i] - b[i])^2</c> of uint8 vectors, summed exactly in integers.</summary>
public readonly struct ByteNegSquaredL2Kernel : IByteScoreKernel
{
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Score(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) => (float)-BytePairReduce.Reduce<ByteSquaredDiffOp>(a, b);

    // Fixed-width entry points, so tests and benchmarks can reach every path of the cascade
    // whatever the machine picks.
    internal static float ScoreScalar(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) => (float)-BytePairReduce.ReduceScalar<ByteSquaredDiffOp>(a, b);

    internal static float ScoreVector128(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) => (float)-BytePairReduce.Reduce128<ByteSquaredDiffOp>(a, b);

    internal static float ScoreVector256(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) => (float)-BytePairReduce.Reduce256<ByteSquaredDiffOp>(a, b);

    internal static float ScoreVector512(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) => (float)-BytePairReduce.Reduce512<ByteSquaredDiffOp>(a, b);
}
