using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Quiver.Kernels.Internal;

/// <summary>
/// Sum over <c>i</c> of <c>TOp(a[i], b[i])</c> for uint8 vectors at each vector width, exact in integers: the
/// byte counterpart of <see cref="PairReduce"/> with the same shape (four independent accumulators over four
/// vectors per iteration, then single vectors, then one overlapping load ending at the last element with
/// already-counted lanes masked to zero; inputs shorter than one vector go to the next narrower width, and
/// below 16 elements to the scalar loop). Every width checks <c>a.Length == b.Length</c> so no entry point can
/// read out of bounds.
/// </summary>
/// <remarks>
/// The vector accumulators are 32-bit lanes, which one call could overflow: 65,536 dims of 255^2 is
/// 4,261,478,400 &gt; 2^31. So the vector widths run in blocks of <see cref="BlockLength"/> elements, whose
/// whole sum is below 2^31, and add each block's lane sum into a <see cref="long"/>. Vectors of up to 32,768
/// dims are one block; the result is exact for any length.
/// </remarks>
internal static class BytePairReduce
{
    /// <summary>
    /// Elements per block: 32,768 * 255^2 = 2,130,739,200 &lt; 2^31 - 1, so neither any lane nor the lane sum of a
    /// block can overflow int32. A multiple of four 512-bit vectors, so only the last block has a tail.
    /// </summary>
    private const int BlockLength = 32_768;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long Reduce<TOp>(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
        where TOp : struct, IBytePairAccumulator
    {
        // Each IsHardwareAccelerated is a JIT-time constant, so only one branch survives.
        if (Vector512.IsHardwareAccelerated)
        {
            return Reduce512<TOp>(a, b);
        }

        if (Vector256.IsHardwareAccelerated)
        {
            return Reduce256<TOp>(a, b);
        }

        if (Vector128.IsHardwareAccelerated)
        {
            return Reduce128<TOp>(a, b);
        }

        return ReduceScalar<TOp>(a, b);
    }

    public static long ReduceScalar<TOp>(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
        where TOp : struct, IBytePairAccumulator
    {
        if (a.Length != b.Length)
        {
            ThrowHelper.ThrowLengthMismatch(a.Length, b.Length);
        }

        ref var ra = ref MemoryMarshal.GetReference(a);
        ref var rb = ref MemoryMarshal.GetReference(b);
        var n = (nuint)(uint)a.Length;
        nuint i = 0;
        long s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (; i + 4 <= n; i += 4)
        {
            s0 += TOp.Term(Unsafe.Add(ref ra, i), Unsafe.Add(ref rb, i));
            s1 += TOp.Term(Unsafe.Add(ref ra, i + 1), Unsafe.Add(ref rb, i + 1));
            s2 += TOp.Term(Unsafe.Add(ref ra, i + 2), Unsafe.Add(ref rb, i + 2));
            s3 += TOp.Term(Unsafe.Add(ref ra, i + 3), Unsafe.Add(ref rb, i + 3));
        }

        for (; i < n; i++)
        {
            s0 += TOp.Term(Unsafe.Add(ref ra, i), Unsafe.Add(ref rb, i));
        }

        return (s0 + s1) + (s2 + s3);
    }

    public static long Reduce128<TOp>(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
        where TOp : struct, IBytePairAccumulator
    {
        if (a.Length != b.Length)
        {
            ThrowHelper.ThrowLengthMismatch(a.Length, b.Length);
        }

        const int W = 16;
        var n = (nuint)(uint)a.Length;
        if (n < W)
        {
            return ReduceScalar<TOp>(a, b);
        }

        ref var ra = ref MemoryMarshal.GetReference(a);
        ref var rb = ref MemoryMarshal.GetReference(b);
        long total = 0;
        nuint i = 0;
        do
        {
            var end = n - i > BlockLength ? i + BlockLength : n;
            var acc0 = Vector128<int>.Zero;
            var acc1 = Vector128<int>.Zero;
            var acc2 = Vector128<int>.Zero;
            var acc3 = Vector128<int>.Zero;
            for (; i + (4 * W) <= end; i += 4 * W)
            {
                acc0 = TOp.Step(acc0, Vector128.LoadUnsafe(ref ra, i), Vector128.LoadUnsafe(ref rb, i));
                acc1 = TOp.Step(acc1, Vector128.LoadUnsafe(ref ra, i + W), Vector128.LoadUnsafe(ref rb, i + W));
                acc2 = TOp.Step(acc2, Vector128.LoadUnsafe(ref ra, i + (2 * W)), Vector128.LoadUnsafe(ref rb, i + (2 * W)));
                acc3 = TOp.Step(acc3, Vector128.LoadUnsafe(ref ra, i + (3 * W)), Vector128.LoadUnsafe(ref rb, i + (3 * W)));
            }

            for (; i + W <= end; i += W)
            {
                acc0 = TOp.Step(acc0, Vector128.LoadUnsafe(ref ra, i), Vector128.LoadUnsafe(ref rb, i));
            }

            // Only the last block can end mid-vector (BlockLength is a multiple of 4 * W).
            if (i < end)
            {
                var start = n - W;
                var keep = Vector128.GreaterThanOrEqual(Vector128<byte>.Indices, Vector128.Create((byte)(i - start)));
                acc1 = TOp.Step(
                    acc1,
                    Vector128.LoadUnsafe(ref ra, start) & keep,
                    Vector128.LoadUnsafe(ref rb, start) & keep);
                i = n;
            }

            total += Vector128.Sum((acc0 + acc1) + (acc2 + acc3));
        }
        while (i < n);

        return total;
    }

    public static long Reduce256<TOp>(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
        where TOp : struct, IBytePairAccumulator
    {
        if (a.Length != b.Length)
        {
            ThrowHelper.ThrowLengthMismatch(a.Length, b.Length);
        }

        const int W = 32;
        var n = (nuint)(uint)a.Length;
        if (n < W)
        {
            return Reduce128<TOp>(a, b);
        }

        ref var ra = ref MemoryMarshal.GetReference(a);
        ref var rb = ref MemoryMarshal.GetReference(b);
        long total = 0;
        nuint i = 0;
        do
        {
            var end = n - i > BlockLength ? i + BlockLength : n;
            var acc0 = Vector256<int>.Zero;
            var acc1 = Vector256<int>.Zero;
            var acc2 = Vector256<int>.Zero;
            var acc3 = Vector256<int>.Zero;
            for (; i + (4 * W) <= end; i += 4 * W)
            {
                acc0 = TOp.Step(acc0, Vector256.LoadUnsafe(ref ra, i), Vector256.LoadUnsafe(ref rb, i));
                acc1 = TOp.Step(acc1, Vector256.LoadUnsafe(ref ra, i + W), Vector256.LoadUnsafe(ref rb, i + W));
                acc2 = TOp.Step(acc2, Vector256.LoadUnsafe(ref ra, i + (2 * W)), Vector256.LoadUnsafe(ref rb, i + (2 * W)));
                acc3 = TOp.Step(acc3, Vector256.LoadUnsafe(ref ra, i + (3 * W)), Vector256.LoadUnsafe(ref rb, i + (3 * W)));
            }

            for (; i + W <= end; i += W)
            {
                acc0 = TOp.Step(acc0, Vector256.LoadUnsafe(ref ra, i), Vector256.LoadUnsafe(ref rb, i));
            }

            // Only the last block can end mid-vector (BlockLength is a multiple of 4 * W).
            if (i < end)
            {
                var start = n - W;
                var keep = Vector256.GreaterThanOrEqual(Vector256<byte>.Indices, Vector256.Create((byte)(i - start)));
                acc1 = TOp.Step(
                    acc1,
                    Vector256.LoadUnsafe(ref ra, start) & keep,
                    Vector256.LoadUnsafe(ref rb, start) & keep);
                i = n;
            }

            total += Vector256.Sum((acc0 + acc1) + (acc2 + acc3));
        }
        while (i < n);

        return total;
    }

    public static long Reduce512<TOp>(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
        where TOp : struct, IBytePairAccumulator
    {
        if (a.Length != b.Length)
        {
            ThrowHelper.ThrowLengthMismatch(a.Length, b.Length);
        }

        const int W = 64;
        var n = (nuint)(uint)a.Length;
        if (n < W)
        {
            return Reduce256<TOp>(a, b);
        }

        ref var ra = ref MemoryMarshal.GetReference(a);
        ref var rb = ref MemoryMarshal.GetReference(b);
        long total = 0;
        nuint i = 0;
        do
        {
            var end = n - i > BlockLength ? i + BlockLength : n;
            var acc0 = Vector512<int>.Zero;
            var acc1 = Vector512<int>.Zero;
            var acc2 = Vector512<int>.Zero;
            var acc3 = Vector512<int>.Zero;
            for (; i + (4 * W) <= end; i += 4 * W)
            {
                acc0 = TOp.Step(acc0, Vector512.LoadUnsafe(ref ra, i), Vector512.LoadUnsafe(ref rb, i));
                acc1 = TOp.Step(acc1, Vector512.LoadUnsafe(ref ra, i + W), Vector512.LoadUnsafe(ref rb, i + W));
                acc2 = TOp.Step(acc2, Vector512.LoadUnsafe(ref ra, i + (2 * W)), Vector512.LoadUnsafe(ref rb, i + (2 * W)));
                acc3 = TOp.Step(acc3, Vector512.LoadUnsafe(ref ra, i + (3 * W)), Vector512.LoadUnsafe(ref rb, i + (3 * W)));
            }

            for (; i + W <= end; i += W)
            {
                acc0 = TOp.Step(acc0, Vector512.LoadUnsafe(ref ra, i), Vector512.LoadUnsafe(ref rb, i));
            }

            // Only the last block can end mid-vector (BlockLength is a multiple of 4 * W).
            if (i < end)
            {
                var start = n - W;
                var keep = Vector512.GreaterThanOrEqual(Vector512<byte>.Indices, Vector512.Create((byte)(i - start)));
                acc1 = TOp.Step(
                    acc1,
                    Vector512.LoadUnsafe(ref ra, start) & keep,
                    Vector512.LoadUnsafe(ref rb, start) & keep);
                i = n;
            }

            total += Vector512.Sum((acc0 + acc1) + (acc2 + acc3));
        }
        while (i < n);

        return total;
    }
}
