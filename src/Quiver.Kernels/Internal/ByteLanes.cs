using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Quiver.Kernels.Internal;

/// <summary>
/// Lane-local widening of bytes for the uint8 ops. Splitting each 16-bit lane into its low (even) and high (odd)
/// byte widens without crossing 128-bit lanes, so it costs an AND and a shift instead of the lane shuffles of
/// <c>WidenLower</c>/<c>WidenUpper</c>; the ops only need the sum of all lanes, so the order does not matter.
/// </summary>
internal static class ByteLanes
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<short> Even(Vector128<byte> v) => (v.AsUInt16() & Vector128.Create((ushort)0xFF)).AsInt16();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<short> Odd(Vector128<byte> v) => (v.AsUInt16() >>> 8).AsInt16();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<short> Even(Vector256<byte> v) => (v.AsUInt16() & Vector256.Create((ushort)0xFF)).AsInt16();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<short> Odd(Vector256<byte> v) => (v.AsUInt16() >>> 8).AsInt16();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<short> Even(Vector512<byte> v) => (v.AsUInt16() & Vector512.Create((ushort)0xFF)).AsInt16();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<short> Odd(Vector512<byte> v) => (v.AsUInt16() >>> 8).AsInt16();

    /// <summary><c>|a - b|</c> per byte, without widening.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<byte> AbsDiff(Vector128<byte> a, Vector128<byte> b) => Vector128.Max(a, b) - Vector128.Min(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> AbsDiff(Vector256<byte> a, Vector256<byte> b) => Vector256.Max(a, b) - Vector256.Min(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<byte> AbsDiff(Vector512<byte> a, Vector512<byte> b) => Vector512.Max(a, b) - Vector512.Min(a, b);

    /// <summary>
    /// Portable <c>pmaddwd(x, y)</c> for non-negative inputs of at most 255: each 32-bit lane gets the sum of the
    /// products of its two 16-bit lanes. A product fits 16 bits unsigned (255^2 = 65025), so multiply, then add
    /// the two halves of each 32-bit lane.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> MultiplyAddPairs(Vector128<short> x, Vector128<short> y) =>
        PairSum((x.AsUInt16() * y.AsUInt16()).AsUInt32());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> MultiplyAddPairs(Vector256<short> x, Vector256<short> y) =>
        PairSum((x.AsUInt16() * y.AsUInt16()).AsUInt32());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> MultiplyAddPairs(Vector512<short> x, Vector512<short> y) =>
        PairSum((x.AsUInt16() * y.AsUInt16()).AsUInt32());

    /// <summary>Sum of the two unsigned 16-bit halves of each 32-bit lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> PairSum(Vector128<uint> v) => ((v & Vector128.Create(0xFFFFu)) + (v >>> 16)).AsInt32();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> PairSum(Vector256<uint> v) => ((v & Vector256.Create(0xFFFFu)) + (v >>> 16)).AsInt32();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> PairSum(Vector512<uint> v) => ((v & Vector512.Create(0xFFFFu)) + (v >>> 16)).AsInt32();
}
