namespace Quiver.Kernels;

/// <summary>
/// A similarity score between two equal-length uint8 vectors (Qdrant's <c>datatype: uint8</c>) where higher means
/// closer: the byte counterpart of <see cref="IScoreKernel"/>, implemented by empty <see langword="readonly"/>
/// structs for the same reason (generic code constrained on <c>struct, IByteScoreKernel</c> inlines the call).
/// Sums are exact integers; the only rounding is the final conversion to <see cref="float"/>.
/// </summary>
public interface IByteScoreKernel
{
    /// <summary>Scores <paramref name="a"/> against <paramref name="b"/>; the lengths must match.</summary>
    /// <exception cref="ArgumentException">The lengths differ.</exception>
    static abstract float Score(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b);
}
