using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Quiver.Kernels.Internal;

/// <summary>
/// <see cref="PairReduce"/> for operations whose every step adds a non-negative amount (squared and absolute
/// differences): the running sum only grows, so once it passes <c>ceiling</c> the caller's answer is known and the
/// rest of the vectors need not be read. Checked every <see cref="BlockVectors"/> vectors on copies of the
/// accumulators, so a sum that completes is bit-identical to <see cref="PairReduce.Reduce{TOp}"/>'s.
/// </summary>
internal static class BoundedReduce
{
    /// <summary>Vectors (in four accumulators) between two checks: 256 floats at 512 bits.</summary>
    private const int BlockVectors = 16;

    /// <summary>The sum of <c>TOp</c> over the pairs, or a partial sum greater than <paramref name="ceiling"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Reduce<TOp>(ReadOnlySpan<float> a, ReadOnlySpan<float> b, float ceiling)
        where TOp : struct, IPairAccumulator
    {
        if (Vector512.IsHardwareAccelerated)
        {
            return Reduce512<TOp>(a, b, ceiling);
        }

        if (Vector256.IsHardwareAccelerated)
        {
            return Reduce256<TOp>(a, b, ceiling);
        }

        // Narrower machines compute the whole sum: always a valid answer.
        return PairReduce.Reduce<TOp>(a, b);
    }

    public static float Reduce512<TOp>(ReadOnlySpan<float> a, ReadOnlySpan<float> b, float ceiling)
        where TOp : struct, IPairAccumulator
    {
        const int W = 16;
        if (a.Length != b.Length || a.Length < BlockVectors * W)
        {
            // Short rows gain nothing from checking; the plain path also reports a length mismatch.
            return PairReduce.Reduce512<TOp>(a, b);
        }

        ref var ra = ref MemoryMarshal.GetReference(a);
        ref var rb = ref MemoryMarshal.GetReference(b);
        var n = (nuint)(uint)a.Length;
        var acc0 = Vector512<float>.Zero;
        var acc1 = Vector512<float>.Zero;
        var acc2 = Vector512<float>.Zero;
        var acc3 = Vector512<float>.Zero;
        nuint i = 0;
        while (i + (4 * W) <= n)
        {
            // The same steps in the same order as PairReduce.Reduce512, with a look at the sum between blocks.
            var blockEnd = i + (BlockVectors * W);
            for (; i + (4 * W) <= n && i < blockEnd; i += 4 * W)
            {
                acc0 = TOp.Step(acc0, Vector512.LoadUnsafe(ref ra, i), Vector512.LoadUnsafe(ref rb, i));
                acc1 = TOp.Step(acc1, Vector512.LoadUnsafe(ref ra, i + W), Vector512.LoadUnsafe(ref rb, i + W));
                acc2 = TOp.Step(acc2, Vector512.LoadUnsafe(ref ra, i + (2 * W)), Vector512.LoadUnsafe(ref rb, i + (2 * W)));
                acc3 = TOp.Step(acc3, Vector512.LoadUnsafe(ref ra, i + (3 * W)), Vector512.LoadUnsafe(ref rb, i + (3 * W)));
            }

            if (i < n)
            {
                var partial = Vector512.Sum((acc0 + acc1) + (acc2 + acc3));
                if (partial > ceiling)
                {
                    return partial;
                }
            }
        }

        for (; i + W <= n; i += W)
        {
            acc0 = TOp.Step(acc0, Vector512.LoadUnsafe(ref ra, i), Vector512.LoadUnsafe(ref rb, i));
        }

        if (i < n)
        {
            var start = n - W;
            var keep = Vector512.GreaterThanOrEqual(Vector512<int>.Indices, Vector512.Create((int)(i - start))).AsSingle();
            acc1 = TOp.Step(acc1, Vector512.LoadUnsafe(ref ra, start) & keep, Vector512.LoadUnsafe(ref rb, start) & keep);
        }

        return Vector512.Sum((acc0 + acc1) + (acc2 + acc3));
    }

    public static float Reduce256<TOp>(ReadOnlySpan<float> a, ReadOnlySpan<float> b, float ceiling)
        where TOp : struct, IPairAccumulator
    {
        const int W = 8;
        if (a.Length != b.Length || a.Length < BlockVectors * W)
        {
            return PairReduce.Reduce256<TOp>(a, b);
        }

        ref var ra = ref MemoryMarshal.GetReference(a);
        ref var rb = ref MemoryMarshal.GetReference(b);
        var n = (nuint)(uint)a.Length;
        var acc0 = Vector256<float>.Zero;
        var acc1 = Vector256<float>.Zero;
        var acc2 = Vector256<float>.Zero;
        var acc3 = Vector256<float>.Zero;
        nuint i = 0;
        while (i + (4 * W) <= n)
        {
            var blockEnd = i + (BlockVectors * W);
            for (; i + (4 * W) <= n && i < blockEnd; i += 4 * W)
            {
                acc0 = TOp.Step(acc0, Vector256.LoadUnsafe(ref ra, i), Vector256.LoadUnsafe(ref rb, i));
                acc1 = TOp.Step(acc1, Vector256.LoadUnsafe(ref ra, i + W), Vector256.LoadUnsafe(ref rb, i + W));
                acc2 = TOp.Step(acc2, Vector256.LoadUnsafe(ref ra, i + (2 * W)), Vector256.LoadUnsafe(ref rb, i + (2 * W)));
                acc3 = TOp.Step(acc3, Vector256.LoadUnsafe(ref ra, i + (3 * W)), Vector256.LoadUnsafe(ref rb, i + (3 * W)));
            }

            if (i < n)
            {
                var partial = Vector256.Sum((acc0 + acc1) + (acc2 + acc3));
                if (partial > ceiling)
                {
                    return partial;
                }
            }
        }

        for (; i + W <= n; i += W)
        {
            acc0 = TOp.Step(acc0, Vector256.LoadUnsafe(ref ra, i), Vector256.LoadUnsafe(ref rb, i));
        }

        if (i < n)
        {
            var start = n - W;
            var keep = Vector256.GreaterThanOrEqual(Vector256<int>.Indices, Vector256.Create((int)(i - start))).AsSingle();
            acc1 = TOp.Step(acc1, Vector256.LoadUnsafe(ref ra, start) & keep, Vector256.LoadUnsafe(ref rb, start) & keep);
        }

        return Vector256.Sum((acc0 + acc1) + (acc2 + acc3));
    }
}
