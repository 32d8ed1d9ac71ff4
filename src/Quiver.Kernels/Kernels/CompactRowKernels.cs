using System.Runtime.CompilerServices;
using Quiver.Kernels.Internal;

namespace Quiver.Kernels;

/// <summary>
/// A similarity score (higher is closer) between a float32 query and a row stored in a compact datatype
/// (<c>datatype: float16</c> or <c>uint8</c>), widened to float32 as it is read: the same value the float kernel
/// gives for the row's values. Empty structs with static members, dispatched once per query like
/// <see cref="IScoreKernel"/>.
/// </summary>
public interface IRowScoreKernel<TElement>
    where TElement : unmanaged
{
    /// <exception cref="ArgumentException">The lengths differ.</exception>
    static abstract float Score(ReadOnlySpan<float> query, ReadOnlySpan<TElement> row);
}

/// <summary>Dot product with a float16 row.</summary>
public readonly struct HalfDotKernel : IRowScoreKernel<Half>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Score(ReadOnlySpan<float> query, ReadOnlySpan<Half> row) => WidenedReduce<Half, HalfWidening>.Reduce<DotOp>(query, row);
}

/// <summary>Negated squared Euclidean distance to a float16 row.</summary>
public readonly struct HalfNegSquaredL2Kernel : IRowScoreKernel<Half>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Score(ReadOnlySpan<float> query, ReadOnlySpan<Half> row) => -WidenedReduce<Half, HalfWidening>.Reduce<SquaredDiffOp>(query, row);
}

/// <summary>Negated Manhattan distance to a float16 row.</summary>
public readonly struct HalfNegL1Kernel : IRowScoreKernel<Half>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Score(ReadOnlySpan<float> query, ReadOnlySpan<Half> row) => -WidenedReduce<Half, HalfWidening>.Reduce<AbsDiffOp>(query, row);
}

/// <summary>Dot product with a uint8 row.</summary>
public readonly struct UInt8DotKernel : IRowScoreKernel<byte>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Score(ReadOnlySpan<float> query, ReadOnlySpan<byte> row) => WidenedReduce<byte, ByteWidening>.Reduce<DotOp>(query, row);
}

/// <summary>Negated squared Euclidean distance to a uint8 row.</summary>
public readonly struct UInt8NegSquaredL2Kernel : IRowScoreKernel<byte>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Score(ReadOnlySpan<float> query, ReadOnlySpan<byte> row) => -WidenedReduce<byte, ByteWidening>.Reduce<SquaredDiffOp>(query, row);
}

/// <summary>Negated Manhattan distance to a uint8 row.</summary>
public readonly struct UInt8NegL1Kernel : IRowScoreKernel<byte>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Score(ReadOnlySpan<float> query, ReadOnlySpan<byte> row) => -WidenedReduce<byte, ByteWidening>.Reduce<AbsDiffOp>(query, row);
}

/// <summary>Conversions between float32 values and the compact datatypes rows are stored in.</summary>
public static class CompactValues
{
    /// <summary>The float16 nearest each value (ties to even); the caller checked they are within ±65504.</summary>
    public static void ToHalf(ReadOnlySpan<float> values, Span<Half> destination)
    {
        for (var i = 0; i < values.Length; i++)
            destination[i] = (Half)values[i];
    }

    /// <summary>Each value as a byte; the caller checked they are integers from 0 to 255.</summary>
    public static void ToByte(ReadOnlySpan<float> values, Span<byte> destination)
    {
        for (var i = 0; i < values.Length; i++)
            destination[i] = (byte)values[i];
    }

    /// <summary>Widens stored float16 values to float32, exactly.</summary>
    public static void Widen(ReadOnlySpan<Half> values, Span<float> destination)
    {
        for (var i = 0; i < values.Length; i++)
            destination[i] = (float)values[i];
    }

    /// <summary>Widens stored uint8 values to float32, exactly.</summary>
    public static void Widen(ReadOnlySpan<byte> values, Span<float> destination)
    {
        for (var i = 0; i < values.Length; i++)
            destination[i] = values[i];
    }
}
