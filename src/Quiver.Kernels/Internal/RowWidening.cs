using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Quiver.Kernels.Internal;

/// <summary>
/// Loads stored row elements of a compact datatype as float32 lanes at every vector width: 4, 8 or 16 elements from
/// <c>source</c>, never reading past them. Static members on empty structs, like the pair operations, so each
/// datatype's kernels are compiled with the loads inlined.
/// </summary>
internal interface IRowWidening<TElement>
    where TElement : unmanaged
{
    static abstract float Widen(TElement value);

    static abstract Vector128<float> Widen128(ref TElement source);

    static abstract Vector256<float> Widen256(ref TElement source);

    static abstract Vector512<float> Widen512(ref TElement source);
}

/// <summary>
/// IEEE half precision to single, exactly, for finite values (stored vectors never hold infinities or NaN: they are
/// refused at insert). Normal halves move their exponent and mantissa into place; subnormal ones (exponent 0) are
/// their mantissa times 2^-24, computed by an integer conversion so no float subnormal is ever touched.
/// </summary>
internal readonly struct HalfWidening : IRowWidening<Half>
{
    private const uint SignBit = 0x8000;
    private const uint MagnitudeBits = 0x7FFF;
    private const uint SmallestNormal = 0x0400;
    private const uint ExponentRebias = (127 - 15) << 23;
    private const float SubnormalUnit = 1f / (1 << 24);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Widen(Half value) => (float)value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Widen128(ref Half source)
    {
        var bits = Vector64.LoadUnsafe(ref Unsafe.As<Half, ushort>(ref source)).ToVector128Unsafe();
        var h = Vector128.WidenLower(bits);
        var sign = (h & Vector128.Create(SignBit)) << 16;
        var magnitude = h & Vector128.Create(MagnitudeBits);
        var normal = ((magnitude << 13) + Vector128.Create(ExponentRebias)) | sign;
        var subnormal = (Vector128.ConvertToSingle(magnitude.AsInt32()) * Vector128.Create(SubnormalUnit)).AsUInt32() | sign;
        return Vector128.ConditionalSelect(Vector128.LessThan(magnitude, Vector128.Create(SmallestNormal)), subnormal, normal).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Widen256(ref Half source)
    {
        var bits = Vector128.LoadUnsafe(ref Unsafe.As<Half, ushort>(ref source)).ToVector256Unsafe();
        var h = Vector256.WidenLower(bits);
        var sign = (h & Vector256.Create(SignBit)) << 16;
        var magnitude = h & Vector256.Create(MagnitudeBits);
        var normal = ((magnitude << 13) + Vector256.Create(ExponentRebias)) | sign;
        var subnormal = (Vector256.ConvertToSingle(magnitude.AsInt32()) * Vector256.Create(SubnormalUnit)).AsUInt32() | sign;
        return Vector256.ConditionalSelect(Vector256.LessThan(magnitude, Vector256.Create(SmallestNormal)), subnormal, normal).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Widen512(ref Half source)
    {
        var bits = Vector256.LoadUnsafe(ref Unsafe.As<Half, ushort>(ref source)).ToVector512Unsafe();
        var h = Vector512.WidenLower(bits);
        var sign = (h & Vector512.Create(SignBit)) << 16;
        var magnitude = h & Vector512.Create(MagnitudeBits);
        var normal = ((magnitude << 13) + Vector512.Create(ExponentRebias)) | sign;
        var subnormal = (Vector512.ConvertToSingle(magnitude.AsInt32()) * Vector512.Create(SubnormalUnit)).AsUInt32() | sign;
        return Vector512.ConditionalSelect(Vector512.LessThan(magnitude, Vector512.Create(SmallestNormal)), subnormal, normal).AsSingle();
    }
}

/// <summary>Unsigned bytes (datatype uint8) to single: zero-extended, then converted (exact for 0..255).</summary>
internal readonly struct ByteWidening : IRowWidening<byte>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Widen(byte value) => value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Widen128(ref byte source)
    {
        var bytes = Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<uint>(ref source)).AsByte();
        return Vector128.ConvertToSingle(Vector128.WidenLower(Vector128.WidenLower(bytes)).AsInt32());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Widen256(ref byte source)
    {
        var words = Vector128.WidenLower(Vector64.LoadUnsafe(ref source).ToVector128Unsafe());
        return Vector256.ConvertToSingle(Vector256.WidenLower(words.ToVector256Unsafe()).AsInt32());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Widen512(ref byte source)
    {
        var words = Vector256.WidenLower(Vector128.LoadUnsafe(ref source).ToVector256Unsafe());
        return Vector512.ConvertToSingle(Vector512.WidenLower(words.ToVector512Unsafe()).AsInt32());
    }
}
