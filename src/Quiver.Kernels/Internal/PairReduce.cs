using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Quiver.Kernels.Internal;

/// <summary>
/// Sum over <c>i</c> of <c>TOp(a[i], b[i])</c> at each vector width. Every width runs four independent
/// accumulators over four vectors per iteration (instruction-level parallelism), then single vectors, then a
/// tail: one overlapping load ending at the last element with already-counted lanes masked to zero. Inputs
/// shorter than one vector go to the next narrower width, and below four elements to the scalar loop.
/// Every width checks <c>a.Length == b.Length</c> (one predictable branch) so no entry point can read out of bounds.
/// </summary>
internal static class PairReduce
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Reduce<TOp>(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
        where TOp : struct, IPairAccumulator
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

    public static float ReduceScalar<TOp>(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
        where TOp : struct, IPairAccumulator
    {
        if (a.Length != b.Length)
        {
            ThrowHelper.ThrowLengthMismatch(a.Length, b.Length);
        }

        ref var ra = ref MemoryMarshal.GetReference(a);
        ref var rb = ref MemoryMarshal.GetReference(b);
        var n = (nuint)(uint)a.Length;
        nuint i = 0;
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (; i + 4 <= n; i += 4)
        {
            s0 = TOp.Step(s0, Unsafe.Add(ref ra, i), Unsafe.Add(ref rb, i));
            s1 = TOp.Step(s1, Unsafe.Add(ref ra, i + 1), Unsafe.Add(ref rb, i + 1));
            s2 = TOp.Step(s2, Unsafe.Add(ref ra, i + 2), Unsafe.Add(ref rb, i + 2));
            s3 = TOp.Step(s3, Unsafe.Add(ref ra, i + 3), Unsafe.Add(ref rb, i + 3));
        }

        for (; i < n; i++)
        {
            s0 = TOp.Step(s0, Unsafe.Add(ref ra, i), Unsafe.Add(ref rb, i));
        }

        return (s0 + s1) + (s2 + s3);
    }

    public static float Reduce128<TOp>(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
        where TOp : struct, IPairAccumulator
    {
        if (a.Length != b.Length)
        {
            ThrowHelper.ThrowLengthMismatch(a.Length, b.Length);
        }

        const int W = 4;
        var n = (nuint)(uint)a.Length;
        if (n < W)
        {
            return ReduceScalar<TOp>(a, b);
        }

        ref var ra = ref MemoryMarshal.GetReference(a);
        ref var rb = ref MemoryMarshal.GetReference(b);
        var acc0 = Vector128<float>.Zero;
        var acc1 = Vector128<float>.Zero;
        var acc2 = Vector128<float>.Zero;
        var acc3 = Vector128<float>.Zero;
        nuint i = 0;
        for (; i + (4 * W) <= n; i += 4 * W)
        {
            acc0 = TOp.Step(acc0, Vector128.LoadUnsafe(ref ra, i), Vector128.LoadUnsafe(ref rb, i));
            acc1 = TOp.Step(acc1, Vector128.LoadUnsafe(ref ra, i + W), Vector128.LoadUnsafe(ref rb, i + W));
            acc2 = TOp.Step(acc2, Vector128.LoadUnsafe(ref ra, i + (2 * W)), Vector128.LoadUnsafe(ref rb, i + (2 * W)));
            acc3 = TOp.Step(acc3, Vector128.LoadUnsafe(ref ra, i + (3 * W)), Vector128.LoadUnsafe(ref rb, i + (3 * W)));
        }

        for (; i + W <= n; i += W)
        {
            acc0 = TOp.Step(acc0, Vector128.LoadUnsafe(ref ra, i), Vector128.LoadUnsafe(ref rb, i));
        }

        if (i < n)
        {
            var start = n - W;
            var keep = Vector128.GreaterThanOrEqual(Vector128<int>.Indices, Vector128.Create((int)(i - start))).AsSingle();
            acc1 = TOp.Step(
                acc1,
                Vector128.LoadUnsafe(ref ra, start) & keep,
                Vector128.LoadUnsafe(ref rb, start) & keep);
        }

        return Vector128.Sum((acc0 + acc1) + (acc2 + acc3));
    }

    public static float Reduce256<TOp>(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
        where TOp : struct, IPairAccumulator
    {
        if (a.Length != b.Length)
        {
            ThrowHelper.ThrowLengthMismatch(a.Length, b.Length);
        }

        const int W = 8;
        var n = (nuint)(uint)a.Length;
        if (n < W)
        {
            return Reduce128<TOp>(a, b);
        }

        ref var ra = ref MemoryMarshal.GetReference(a);
        ref var rb = ref MemoryMarshal.GetReference(b);
        var acc0 = Vector256<float>.Zero;
        var acc1 = Vector256<float>.Zero;
        var acc2 = Vector256<float>.Zero;
        var acc3 = Vector256<float>.Zero;
        nuint i = 0;
        for (; i + (4 * W) <= n; i += 4 * W)
        {
            acc0 = TOp.Step(acc0, Vector256.LoadUnsafe(ref ra, i), Vector256.LoadUnsafe(ref rb, i));
            acc1 = TOp.Step(acc1, Vector256.LoadUnsafe(ref ra, i + W), Vector256.LoadUnsafe(ref rb, i + W));
            acc2 = TOp.Step(acc2, Vector256.LoadUnsafe(ref ra, i + (2 * W)), Vector256.LoadUnsafe(ref rb, i + (2 * W)));
            acc3 = TOp.Step(acc3, Vector256.LoadUnsafe(ref ra, i + (3 * W)), Vector256.LoadUnsafe(ref rb, i + (3 * W)));
        }

        for (; i + W <= n; i += W)
        {
            acc0 = TOp.Step(acc0, Vector256.LoadUnsafe(ref ra, i), Vector256.LoadUnsafe(ref rb, i));
        }

        if (i < n)
        {
            var start = n - W;
            var keep = Vector256.GreaterThanOrEqual(Vector256<int>.Indices, Vector256.Create((int)(i - start))).AsSingle();
            acc1 = TOp.Step(
                acc1,
                Vector256.LoadUnsafe(ref ra, start) & keep,
                Vector256.LoadUnsafe(ref rb, start) & keep);
        }

        return Vector256.Sum((acc0 + acc1) + (acc2 + acc3));
    }

    public static float Reduce512<TOp>(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
        where TOp : struct, IPairAccumulator
    {
        if (a.Length != b.Length)
        {
            ThrowHelper.ThrowLengthMismatch(a.Length, b.Length);
        }

        const int W = 16;
        var n = (nuint)(uint)a.Length;
        if (n < W)
        {
            return Reduce256<TOp>(a, b);
        }

        ref var ra = ref MemoryMarshal.GetReference(a);
        ref var rb = ref MemoryMarshal.GetReference(b);
        var acc0 = Vector512<float>.Zero;
        var acc1 = Vector512<float>.Zero;
        var acc2 = Vector512<float>.Zero;
        var acc3 = Vector512<float>.Zero;
        nuint i = 0;
        for (; i + (4 * W) <= n; i += 4 * W)
        {
            acc0 = TOp.Step(acc0, Vector512.LoadUnsafe(ref ra, i), Vector512.LoadUnsafe(ref rb, i));
            acc1 = TOp.Step(acc1, Vector512.LoadUnsafe(ref ra, i + W), Vector512.LoadUnsafe(ref rb, i + W));
            acc2 = TOp.Step(acc2, Vector512.LoadUnsafe(ref ra, i + (2 * W)), Vector512.LoadUnsafe(ref rb, i + (2 * W)));
            acc3 = TOp.Step(acc3, Vector512.LoadUnsafe(ref ra, i + (3 * W)), Vector512.LoadUnsafe(ref rb, i + (3 * W)));
        }

        for (; i + W <= n; i += W)
        {
            acc0 = TOp.Step(acc0, Vector512.LoadUnsafe(ref ra, i), Vector512.LoadUnsafe(ref rb, i));
        }

        if (i < n)
        {
            var start = n - W;
            var keep = Vector512.GreaterThanOrEqual(Vector512<int>.Indices, Vector512.Create((int)(i - start))).AsSingle();
            acc1 = TOp.Step(
                acc1,
                Vector512.LoadUnsafe(ref ra, start) & keep,
                Vector512.LoadUnsafe(ref rb, start) & keep);
        }

        return Vector512.Sum((acc0 + acc1) + (acc2 + acc3));
    }
}
