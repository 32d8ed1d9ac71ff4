using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Quiver.Kernels.Internal;

/// <summary>
/// <c>acc + a * b</c> on uint8. Bytes are widened to 16-bit lanes (even and odd bytes apart) and multiplied with
/// <c>pmaddwd</c>, which sums adjacent products into 32-bit lanes; values up to 255 are positive as int16.
/// </summary>
internal readonly struct ByteDotOp : IBytePairAccumulator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Term(byte a, byte b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Step(Vector128<int> acc, Vector128<byte> a, Vector128<byte> b)
    {
        if (Sse2.IsSupported)
        {
            return acc + (Sse2.MultiplyAddAdjacent(ByteLanes.Even(a), ByteLanes.Even(b))
                + Sse2.MultiplyAddAdjacent(ByteLanes.Odd(a), ByteLanes.Odd(b)));
        }

        return acc + (ByteLanes.MultiplyAddPairs(ByteLanes.Even(a), ByteLanes.Even(b))
            + ByteLanes.MultiplyAddPairs(ByteLanes.Odd(a), ByteLanes.Odd(b)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Step(Vector256<int> acc, Vector256<byte> a, Vector256<byte> b)
    {
        if (Avx2.IsSupported)
        {
            return acc + (Avx2.MultiplyAddAdjacent(ByteLanes.Even(a), ByteLanes.Even(b))
                + Avx2.MultiplyAddAdjacent(ByteLanes.Odd(a), ByteLanes.Odd(b)));
        }

        return acc + (ByteLanes.MultiplyAddPairs(ByteLanes.Even(a), ByteLanes.Even(b))
            + ByteLanes.MultiplyAddPairs(ByteLanes.Odd(a), ByteLanes.Odd(b)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> Step(Vector512<int> acc, Vector512<byte> a, Vector512<byte> b)
    {
        if (Avx512BW.IsSupported)
        {
            return acc + (Avx512BW.MultiplyAddAdjacent(ByteLanes.Even(a), ByteLanes.Even(b))
                + Avx512BW.MultiplyAddAdjacent(ByteLanes.Odd(a), ByteLanes.Odd(b)));
        }

        return acc + (ByteLanes.MultiplyAddPairs(ByteLanes.Even(a), ByteLanes.Even(b))
            + ByteLanes.MultiplyAddPairs(ByteLanes.Odd(a), ByteLanes.Odd(b)));
    }
}
