using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Quiver.Kernels;

/// <summary>Whole-vector helpers used at insert and query time (cosine normalisation, validation).</summary>
public static class VectorMath
{
    private const uint ExponentMask = 0x7F80_0000u;

    /// <summary>
    /// Euclidean norm. Uses the SIMD dot product, and recomputes in double precision when the float sum of
    /// squares overflows or underflows (very large or very small components), so the result is right for every
    /// finite input whose norm is representable as a float.
    /// </summary>
    public static float Norm(ReadOnlySpan<float> v)
    {
        var sumSquares = DotKernel.Score(v, v);
        return float.IsNormal(sumSquares) ? MathF.Sqrt(sumSquares) : (float)NormDouble(v);
    }

    /// <summary>
    /// Scales <paramref name="v"/> to unit length in place. Returns <see langword="false"/> and leaves the vector
    /// unchanged when its norm is 0 (or NaN, for non-finite input: validate with <see cref="AllFinite"/> first).
    /// </summary>
    public static bool Normalize(Span<float> v)
    {
        var sumSquares = DotKernel.Score(v, v);
        if (float.IsNormal(sumSquares))
        {
            Scale(v, 1f / MathF.Sqrt(sumSquares));
            return true;
        }

        // Rare: zero vector, float overflow/underflow of the sum of squares, or non-finite input.
        var norm = NormDouble(v);
        if (!(norm > 0) || double.IsInfinity(norm))
        {
            return false;
        }

        var inverse = 1.0 / norm;
        for (var i = 0; i < v.Length; i++)
        {
            v[i] = (float)(v[i] * inverse);
        }

        return true;
    }

    /// <summary>True when no component is NaN or infinite.</summary>
    public static bool AllFinite(ReadOnlySpan<float> v)
    {
        ref var r = ref Unsafe.As<float, uint>(ref MemoryMarshal.GetReference(v));
        var n = (nuint)(uint)v.Length;
        nuint i = 0;

        // A float is non-finite exactly when all exponent bits are set. Tails re-check an overlapping vector.
        if (Vector512.IsHardwareAccelerated && n >= (nuint)Vector512<uint>.Count)
        {
            var mask = Vector512.Create(ExponentMask);
            var last = n - (nuint)Vector512<uint>.Count;
            for (; i < last; i += (nuint)Vector512<uint>.Count)
            {
                if (Vector512.EqualsAny(Vector512.LoadUnsafe(ref r, i) & mask, mask))
                {
                    return false;
                }
            }

            return !Vector512.EqualsAny(Vector512.LoadUnsafe(ref r, last) & mask, mask);
        }

        if (Vector256.IsHardwareAccelerated && n >= (nuint)Vector256<uint>.Count)
        {
            var mask = Vector256.Create(ExponentMask);
            var last = n - (nuint)Vector256<uint>.Count;
            for (; i < last; i += (nuint)Vector256<uint>.Count)
            {
                if (Vector256.EqualsAny(Vector256.LoadUnsafe(ref r, i) & mask, mask))
                {
                    return false;
                }
            }

            return !Vector256.EqualsAny(Vector256.LoadUnsafe(ref r, last) & mask, mask);
        }

        if (Vector128.IsHardwareAccelerated && n >= (nuint)Vector128<uint>.Count)
        {
            var mask = Vector128.Create(ExponentMask);
            var last = n - (nuint)Vector128<uint>.Count;
            for (; i < last; i += (nuint)Vector128<uint>.Count)
            {
                if (Vector128.EqualsAny(Vector128.LoadUnsafe(ref r, i) & mask, mask))
                {
                    return false;
                }
            }

            return !Vector128.EqualsAny(Vector128.LoadUnsafe(ref r, last) & mask, mask);
        }

        for (; i < n; i++)
        {
            if ((Unsafe.Add(ref r, i) & ExponentMask) == ExponentMask)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Multiplies every component by <paramref name="factor"/> in place.</summary>
    internal static void Scale(Span<float> v, float factor)
    {
        ref var r = ref MemoryMarshal.GetReference(v);
        var n = (nuint)(uint)v.Length;
        nuint i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var f = Vector512.Create(factor);
            for (; i + (nuint)Vector512<float>.Count <= n; i += (nuint)Vector512<float>.Count)
            {
                (Vector512.LoadUnsafe(ref r, i) * f).StoreUnsafe(ref r, i);
            }
        }

        if (Vector256.IsHardwareAccelerated)
        {
            var f = Vector256.Create(factor);
            for (; i + (nuint)Vector256<float>.Count <= n; i += (nuint)Vector256<float>.Count)
            {
                (Vector256.LoadUnsafe(ref r, i) * f).StoreUnsafe(ref r, i);
            }
        }

        if (Vector128.IsHardwareAccelerated)
        {
            var f = Vector128.Create(factor);
            for (; i + (nuint)Vector128<float>.Count <= n; i += (nuint)Vector128<float>.Count)
            {
                (Vector128.LoadUnsafe(ref r, i) * f).StoreUnsafe(ref r, i);
            }
        }

        // Scaling is not idempotent, so the tail must not overlap: at most three scalar steps.
        for (; i < n; i++)
        {
            Unsafe.Add(ref r, i) *= factor;
        }
    }

    private static double NormDouble(ReadOnlySpan<float> v)
    {
        // Every float squared fits a double, so this neither overflows nor underflows for finite input.
        double sum = 0;
        foreach (var x in v)
        {
            sum += (double)x * x;
        }

        return Math.Sqrt(sum);
    }
}
