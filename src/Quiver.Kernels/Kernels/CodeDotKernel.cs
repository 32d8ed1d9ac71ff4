using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Quiver.Kernels;

/// <summary>
/// The dot product of a row of uint8 codes with a query of int8 values, over a length padded to
/// <see cref="Block"/> bytes: the kernel of a graph walk on scalar codes. The query's padding is zero, so whatever
/// the row's padding holds (the next row's bytes) adds nothing, and the loop needs no tail. One <c>vpdpbusd</c>
/// per 32 bytes where AVX-VNNI exists (it multiplies exactly this pair of types); otherwise both sides are widened
/// to 16 bits and multiplied with <c>pmaddwd</c>. The sum is exact in 32 bits up to 65,536 bytes (255 · 128 ·
/// 65,536 &lt; 2^31).
/// </summary>
public static class CodeDotKernel
{
    /// <summary>Padded lengths are multiples of this many bytes.</summary>
    public const int Block = 32;

    /// <summary>The padded length of <paramref name="dimension"/> codes.</summary>
    public static int PaddedLength(int dimension) => (dimension + Block - 1) & ~(Block - 1);

    /// <summary>
    /// <c>sum codes[i] * query[i]</c> for i below <paramref name="paddedLength"/>; both must be readable that far.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Dot(ref byte codes, ref sbyte query, int paddedLength)
    {
        if (AvxVnni.IsSupported)
            return DotVnni(ref codes, ref query, paddedLength);
        if (Avx2.IsSupported)
            return DotWidened256(ref codes, ref query, paddedLength);
        return DotScalar(ref codes, ref query, paddedLength);
    }

    /// <summary>As <see cref="Dot(ref byte, ref sbyte, int)"/> over spans, checked.</summary>
    /// <exception cref="ArgumentException">A span shorter than the padded length, or a length not a multiple of <see cref="Block"/>.</exception>
    public static int Dot(ReadOnlySpan<byte> codes, ReadOnlySpan<sbyte> query, int paddedLength)
    {
        Check(codes.Length, query.Length, paddedLength);
        return Dot(ref MemoryMarshal.GetReference(codes), ref MemoryMarshal.GetReference(query), paddedLength);
    }

    internal static void Check(int codes, int query, int paddedLength)
    {
        if (paddedLength < 0 || paddedLength % Block != 0 || codes < paddedLength || query < paddedLength)
            throw new ArgumentException($"Padded length {paddedLength} must be a multiple of {Block} within both spans ({codes} and {query}).");
    }

    internal static int DotVnni(ref byte codes, ref sbyte query, int paddedLength)
    {
        var acc0 = Vector256<int>.Zero;
        var acc1 = Vector256<int>.Zero;
        var i = 0;
        for (; i + (2 * Block) <= paddedLength; i += 2 * Block)
        {
            acc0 = AvxVnni.MultiplyWideningAndAdd(acc0, Vector256.LoadUnsafe(ref codes, (nuint)i), Vector256.LoadUnsafe(ref query, (nuint)i));
            acc1 = AvxVnni.MultiplyWideningAndAdd(acc1, Vector256.LoadUnsafe(ref codes, (nuint)(i + Block)), Vector256.LoadUnsafe(ref query, (nuint)(i + Block)));
        }

        if (i < paddedLength)
            acc0 = AvxVnni.MultiplyWideningAndAdd(acc0, Vector256.LoadUnsafe(ref codes, (nuint)i), Vector256.LoadUnsafe(ref query, (nuint)i));
        return Vector256.Sum(acc0 + acc1);
    }

    internal static int DotWidened256(ref byte codes, ref sbyte query, int paddedLength)
    {
        var acc = Vector256<int>.Zero;
        for (var i = 0; i < paddedLength; i += Block)
        {
            var (cLow, cHigh) = Vector256.Widen(Vector256.LoadUnsafe(ref codes, (nuint)i));
            var (qLow, qHigh) = Vector256.Widen(Vector256.LoadUnsafe(ref query, (nuint)i));
            acc += Avx2.MultiplyAddAdjacent(cLow.AsInt16(), qLow) + Avx2.MultiplyAddAdjacent(cHigh.AsInt16(), qHigh);
        }

        return Vector256.Sum(acc);
    }

    internal static int DotScalar(ref byte codes, ref sbyte query, int paddedLength)
    {
        var sum = 0;
        for (var i = 0; i < paddedLength; i++)
            sum += Unsafe.Add(ref codes, i) * Unsafe.Add(ref query, i);
        return sum;
    }
}
