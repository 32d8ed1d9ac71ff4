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

    /// <summary>
    /// Lays out a padded query (<see cref="PaddedLength"/> values, zero past <paramref name="dimension"/>) for
    /// <see cref="DotTailAligned(ref byte, ref sbyte, int)"/>: its last block is shifted so that block lines up with the last
    /// <see cref="Block"/> codes of a row, the values it shares with the block before it zeroed (counted there).
    /// Unchanged when the dimension is a multiple of the block or shorter than one. Apply it once per query.
    /// </summary>
    public static void AlignTail(Span<sbyte> paddedQuery, int dimension)
    {
        var padded = PaddedLength(dimension);
        if (paddedQuery.Length < padded)
            throw new ArgumentException($"A query of {dimension} codes needs {padded} padded values; {paddedQuery.Length} given.", nameof(paddedQuery));
        var shift = padded - dimension;
        if (dimension < Block || shift == 0)
            return;
        Span<sbyte> tail = stackalloc sbyte[Block];
        for (var t = 0; t < Block; t++)
            tail[t] = t < shift ? (sbyte)0 : paddedQuery[dimension - Block + t];
        tail.CopyTo(paddedQuery[(padded - Block)..]);
    }

    /// <summary>
    /// <c>sum codes[i] * query[i]</c> for i below <paramref name="dimension"/>, with the query laid out once by
    /// <see cref="AlignTail"/>: a row of at least <see cref="Block"/> codes is read only up to the dimension, so
    /// scoring a row of a tightly packed table touches no cache line of the next row (shorter rows read a whole
    /// block, as <see cref="Dot(ref byte, ref sbyte, int)"/> does). Unchecked, like that overload.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int DotTailAligned(ref byte codes, ref sbyte alignedQuery, int dimension) =>
        dimension <= 0 ? 0 : DotTailAligned(ref codes, ref alignedQuery, PaddedLength(dimension), TailStart(dimension));

    /// <summary>Where the codes of a row's last block start (the last <see cref="Block"/> codes, or the row's start when it is shorter).</summary>
    public static int TailStart(int dimension) => dimension < Block ? 0 : dimension - Block;

    /// <summary>
    /// As <see cref="DotTailAligned(ref byte, ref sbyte, int)"/> with the row's shape worked out once per query:
    /// <paramref name="paddedLength"/> from <see cref="PaddedLength"/> and <paramref name="tailStart"/> from
    /// <see cref="TailStart"/> of a positive dimension.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int DotTailAligned(ref byte codes, ref sbyte alignedQuery, int paddedLength, int tailStart)
    {
        if (AvxVnni.IsSupported)
            return DotVnniTail(ref codes, ref alignedQuery, paddedLength, tailStart);
        if (Avx2.IsSupported)
            return DotWidenedTail(ref codes, ref alignedQuery, paddedLength, tailStart);
        return DotScalarTail(ref codes, ref alignedQuery, paddedLength, tailStart);
    }

    internal static int DotWidenedTail(ref byte codes, ref sbyte query, int paddedLength, int lastCodes) =>
        DotWidened256(ref codes, ref query, paddedLength - Block)
        + DotWidened256(ref Unsafe.Add(ref codes, lastCodes), ref Unsafe.Add(ref query, paddedLength - Block), Block);

    internal static int DotScalarTail(ref byte codes, ref sbyte query, int paddedLength, int lastCodes) =>
        DotScalar(ref codes, ref query, paddedLength - Block)
        + DotScalar(ref Unsafe.Add(ref codes, lastCodes), ref Unsafe.Add(ref query, paddedLength - Block), Block);

    internal static int DotVnniTail(ref byte codes, ref sbyte query, int paddedLength, int lastCodes)
    {
        var last = paddedLength - Block;
        var tail = AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, Vector256.LoadUnsafe(ref codes, (nuint)lastCodes), Vector256.LoadUnsafe(ref query, (nuint)last));
        // Rows of up to 128 codes (most embedding sizes walked on codes are 96 to 128) in straight lines: the
        // length is the same for every row of a walk, so the switch predicts, and the loop's bookkeeping is gone.
        switch (last)
        {
            case 0:
                return Vector256.Sum(tail);
            case Block:
                return Vector256.Sum(AvxVnni.MultiplyWideningAndAdd(tail, Vector256.LoadUnsafe(ref codes), Vector256.LoadUnsafe(ref query)));
            case 2 * Block:
            {
                var acc = AvxVnni.MultiplyWideningAndAdd(tail, Vector256.LoadUnsafe(ref codes), Vector256.LoadUnsafe(ref query));
                var acc1 = AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, Vector256.LoadUnsafe(ref codes, Block), Vector256.LoadUnsafe(ref query, Block));
                return Vector256.Sum(acc + acc1);
            }

            case 3 * Block:
            {
                var acc = AvxVnni.MultiplyWideningAndAdd(tail, Vector256.LoadUnsafe(ref codes), Vector256.LoadUnsafe(ref query));
                var acc1 = AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, Vector256.LoadUnsafe(ref codes, Block), Vector256.LoadUnsafe(ref query, Block));
                acc = AvxVnni.MultiplyWideningAndAdd(acc, Vector256.LoadUnsafe(ref codes, 2 * Block), Vector256.LoadUnsafe(ref query, 2 * Block));
                return Vector256.Sum(acc + acc1);
            }

            default:
                return Vector256.Sum(AccumulateVnni(tail, ref codes, ref query, last));
        }
    }

    internal static int DotVnni(ref byte codes, ref sbyte query, int paddedLength) =>
        Vector256.Sum(AccumulateVnni(Vector256<int>.Zero, ref codes, ref query, paddedLength));

    /// <summary><paramref name="acc"/> plus the lane sums of the first <paramref name="length"/> bytes (a multiple of the block).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> AccumulateVnni(Vector256<int> acc, ref byte codes, ref sbyte query, int length)
    {
        var acc1 = Vector256<int>.Zero;
        var i = 0;
        for (; i + (2 * Block) <= length; i += 2 * Block)
        {
            acc = AvxVnni.MultiplyWideningAndAdd(acc, Vector256.LoadUnsafe(ref codes, (nuint)i), Vector256.LoadUnsafe(ref query, (nuint)i));
            acc1 = AvxVnni.MultiplyWideningAndAdd(acc1, Vector256.LoadUnsafe(ref codes, (nuint)(i + Block)), Vector256.LoadUnsafe(ref query, (nuint)(i + Block)));
        }

        if (i < length)
            acc1 = AvxVnni.MultiplyWideningAndAdd(acc1, Vector256.LoadUnsafe(ref codes, (nuint)i), Vector256.LoadUnsafe(ref query, (nuint)i));
        return acc + acc1;
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
