namespace Quiver.Kernels;

/// <summary>
/// A similarity score between two equal-length vectors where higher means closer. Implemented by empty
/// <see langword="readonly"/> structs so that generic code constrained on <c>struct, IScoreKernel</c> is
/// compiled once per kernel with the call inlined: no delegate or virtual dispatch per distance.
/// </summary>
public interface IScoreKernel
{
    /// <summary>Scores <paramref name="a"/> against <paramref name="b"/>; the lengths must match.</summary>
    /// <exception cref="ArgumentException">The lengths differ.</exception>
    static abstract float Score(ReadOnlySpan<float> a, ReadOnlySpan<float> b);

    /// <summary>
    /// <see cref="Score"/> when it is at least <paramref name="floor"/> (the same value, bit for bit); otherwise
    /// any value below <paramref name="floor"/>, possibly found without reading all of the vectors. Searches pass
    /// the worst score they keep: most candidates are rejected, and a distance can tell early.
    /// </summary>
    /// <exception cref="ArgumentException">The lengths differ.</exception>
    static abstract float ScoreAtLeast(ReadOnlySpan<float> a, ReadOnlySpan<float> b, float floor);
}
