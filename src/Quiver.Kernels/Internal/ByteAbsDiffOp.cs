using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Quiver.Kernels.Internal;

/// <summary>
/// <c>acc + |a - b|</c> on uint8. On x86 one <c>psadbw</c> does it all: it sums the absolute differences of each
/// group of 8 bytes into the low bits of a 64-bit lane (at most 2040), so viewed as 32-bit lanes the high halves
/// stay zero and adding them as int32 is exact.
/// </summary>
internal readonly struct ByteAbsDiffOp : IBytePairAccumulator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Term(byte a, byte b) => Math.Abs(a - b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Step(Vector128<int> acc, Vector128<byte> a, Vector128<byte> b)
    {
        if (Sse2.IsSupported)
        {
            return acc + Sse2.SumAbsoluteDifferences(a, b).AsInt32();
        }

        var d = ByteLanes.AbsDiff(a, b);
        return acc + ByteLanes.PairSum((ByteLanes.Even(d) + ByteLanes.Odd(d)).AsUInt32());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Step(Vector256<int> acc, Vector256<byte> a, Vector256<byte> b)
    {
        if (Avx2.IsSupported)
        {
            return acc + Avx2.SumAbsoluteDifferences(a, b).AsInt32();
        }

        var d = ByteLanes.AbsDiff(a, b);
        return acc + ByteLanes.PairSum((ByteLanes.Even(d) + ByteLanes.Odd(d)).AsUInt32());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> Step(Vector512<int> acc, Vector512<byte> a, Vector512<byte> b)
    {
        if (Avx512BW.IsSupported)
        {
            return acc + Avx512BW.SumAbsoluteDifferences(a, b).AsInt32();
        }

        var d = ByteLanes.AbsDiff(a, b);
        return acc + ByteLanes.PairSum((ByteLanes.Even(d) + ByteLanes.Odd(d)).AsUInt32());
    }
}
