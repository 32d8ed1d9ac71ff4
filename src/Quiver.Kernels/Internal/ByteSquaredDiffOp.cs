using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Quiver.Kernels.Internal;

/// <summary>
/// <c>acc + (a - b)^2</c> on uint8. <c>|a - b|</c> is taken on bytes (max minus min, no widening needed), then
/// squared and summed like <see cref="ByteDotOp"/>.
/// </summary>
internal readonly struct ByteSquaredDiffOp : IBytePairAccumulator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Term(byte a, byte b)
    {
        var d = a - b;
        return d * d;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Step(Vector128<int> acc, Vector128<byte> a, Vector128<byte> b)
    {
        var d = ByteLanes.AbsDiff(a, b);
        var even = ByteLanes.Even(d);
        var odd = ByteLanes.Odd(d);
        if (Sse2.IsSupported)
        {
            return acc + (Sse2.MultiplyAddAdjacent(even, even) + Sse2.MultiplyAddAdjacent(odd, odd));
        }

        return acc + (ByteLanes.MultiplyAddPairs(even, even) + ByteLanes.MultiplyAddPairs(odd, odd));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Step(Vector256<int> acc, Vector256<byte> a, Vector256<byte> b)
    {
        var d = ByteLanes.AbsDiff(a, b);
        var even = ByteLanes.Even(d);
        var odd = ByteLanes.Odd(d);
        if (Avx2.IsSupported)
        {
            return acc + (Avx2.MultiplyAddAdjacent(even, even) + Avx2.MultiplyAddAdjacent(odd, odd));
        }

        return acc + (ByteLanes.MultiplyAddPairs(even, even) + ByteLanes.MultiplyAddPairs(odd, odd));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> Step(Vector512<int> acc, Vector512<byte> a, Vector512<byte> b)
    {
        var d = ByteLanes.AbsDiff(a, b);
        var even = ByteLanes.Even(d);
        var odd = ByteLanes.Odd(d);
        if (Avx512BW.IsSupported)
        {
            return acc + (Avx512BW.MultiplyAddAdjacent(even, even) + Avx512BW.MultiplyAddAdjacent(odd, odd));
        }

        return acc + (ByteLanes.MultiplyAddPairs(even, even) + ByteLanes.MultiplyAddPairs(odd, odd));
    }
}
