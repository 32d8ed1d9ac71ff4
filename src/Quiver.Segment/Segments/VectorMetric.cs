namespace Quiver.Segment.Segments;

/// <summary>The kernel a vector space scores with. Cosine spaces store normalised vectors and use <see cref="Dot"/>.</summary>
public enum VectorMetric
{
    Dot,
    NegSquaredL2,
    NegL1,
}

/// <summary>A vector space as the segment sees it.</summary>
public sealed record SegmentVectorSpace(string Name, int Dimension, VectorMetric Metric);
