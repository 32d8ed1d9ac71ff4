using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Quiver.Kernels.Internal;

/// <summary>
/// Sum over <c>i</c> of <c>TOp(query[i], row[i])</c> where the row is stored in a compact datatype and widened to
/// float32 as it is loaded (<typeparamref name="TWiden"/>). Four accumulators per width as in
/// <see cref="PairReduce"/>; the tail past the last whole vector goes to the next narrower width, then scalar.
/// </summary>
internal static class WidenedReduce<TElement, TWiden>
    where TElement : unmanaged
    where TWiden : struct, IRowWidening<TElement>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Reduce<TOp>(ReadOnlySpan<float> query, ReadOnlySpan<TElement> row)
        where TOp : struct, IPairAccumulator
    {
        if (query.Length != row.Length)
            ThrowHelper.ThrowLengthMismatch(query.Length, row.Length);
        ref var q = ref MemoryMarshal.GetReference(query);
        ref var r = ref MemoryMarshal.GetReference(row);
        var n = (nuint)(uint)query.Length;
        nuint i = 0;
        float sum = 0;
        if (Vector512.IsHardwareAccelerated)
            sum = Reduce512<TOp>(ref q, ref r, n, ref i);
        else if (Vector256.IsHardwareAccelerated)
            sum = Reduce256<TOp>(ref q, ref r, n, ref i);
        else if (Vector128.IsHardwareAccelerated)
            sum = Reduce128<TOp>(ref q, ref r, n, ref i);
        return sum + ReduceTail<TOp>(ref q, ref r, n, i);
    }

    /// <summary>Fixed-width entry points, so tests reach every path whatever the machine picks (0 = scalar).</summary>
    internal static float ReduceAt<TOp>(ReadOnlySpan<float> query, ReadOnlySpan<TElement> row, int width)
        where TOp : struct, IPairAccumulator
    {
        if (query.Length != row.Length)
            ThrowHelper.ThrowLengthMismatch(query.Length, row.Length);
        ref var q = ref MemoryMarshal.GetReference(query);
        ref var r = ref MemoryMarshal.GetReference(row);
        var n = (nuint)(uint)query.Length;
        nuint i = 0;
        var sum = width switch
        {
            512 => Reduce512<TOp>(ref q, ref r, n, ref i),
            256 => Reduce256<TOp>(ref q, ref r, n, ref i),
            128 => Reduce128<TOp>(ref q, ref r, n, ref i),
            _ => 0f,
        };
        return sum + ReduceTail<TOp>(ref q, ref r, n, i);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Reduce512<TOp>(ref float q, ref TElement r, nuint n, ref nuint i)
        where TOp : struct, IPairAccumulator
    {
        const int W = 16;
        var acc0 = Vector512<float>.Zero;
        var acc1 = Vector512<float>.Zero;
        var acc2 = Vector512<float>.Zero;
        var acc3 = Vector512<float>.Zero;
        for (; i + (4 * W) <= n; i += 4 * W)
        {
            acc0 = TOp.Step(acc0, Vector512.LoadUnsafe(ref q, i), TWiden.Widen512(ref Unsafe.Add(ref r, i)));
            acc1 = TOp.Step(acc1, Vector512.LoadUnsafe(ref q, i + W), TWiden.Widen512(ref Unsafe.Add(ref r, i + W)));
            acc2 = TOp.Step(acc2, Vector512.LoadUnsafe(ref q, i + (2 * W)), TWiden.Widen512(ref Unsafe.Add(ref r, i + (2 * W))));
            acc3 = TOp.Step(acc3, Vector512.LoadUnsafe(ref q, i + (3 * W)), TWiden.Widen512(ref Unsafe.Add(ref r, i + (3 * W))));
        }

        for (; i + W <= n; i += W)
            acc0 = TOp.Step(acc0, Vector512.LoadUnsafe(ref q, i), TWiden.Widen512(ref Unsafe.Add(ref r, i)));
        return Vector512.Sum((acc0 + acc1) + (acc2 + acc3)) + Reduce256<TOp>(ref q, ref r, n, ref i);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Reduce256<TOp>(ref float q, ref TElement r, nuint n, ref nuint i)
        where TOp : struct, IPairAccumulator
    {
        const int W = 8;
        var acc0 = Vector256<float>.Zero;
        var acc1 = Vector256<float>.Zero;
        for (; i + (2 * W) <= n; i += 2 * W)
        {
            acc0 = TOp.Step(acc0, Vector256.LoadUnsafe(ref q, i), TWiden.Widen256(ref Unsafe.Add(ref r, i)));
            acc1 = TOp.Step(acc1, Vector256.LoadUnsafe(ref q, i + W), TWiden.Widen256(ref Unsafe.Add(ref r, i + W)));
        }

        for (; i + W <= n; i += W)
            acc0 = TOp.Step(acc0, Vector256.LoadUnsafe(ref q, i), TWiden.Widen256(ref Unsafe.Add(ref r, i)));
        return Vector256.Sum(acc0 + acc1) + Reduce128<TOp>(ref q, ref r, n, ref i);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Reduce128<TOp>(ref float q, ref TElement r, nuint n, ref nuint i)
        where TOp : struct, IPairAccumulator
    {
        const int W = 4;
        var acc = Vector128<float>.Zero;
        for (; i + W <= n; i += W)
            acc = TOp.Step(acc, Vector128.LoadUnsafe(ref q, i), TWiden.Widen128(ref Unsafe.Add(ref r, i)));
        return Vector128.Sum(acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ReduceTail<TOp>(ref float q, ref TElement r, nuint n, nuint i)
        where TOp : struct, IPairAccumulator
    {
        float sum = 0;
        for (; i < n; i++)
            sum = TOp.Step(sum, Unsafe.Add(ref q, i), TWiden.Widen(Unsafe.Add(ref r, i)));
        return sum;
    }
}
