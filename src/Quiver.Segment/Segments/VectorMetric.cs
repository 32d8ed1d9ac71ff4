namespace Quiver.Segment.Segments;

/// <summary>The kernel a vector space scores with. Cosine spaces store normalised vectors and use <see cref="Dot"/>.</summary>
public enum VectorMetric
{
    Dot,
    NegSquaredL2,
    NegL1,
}

/// <summary>
/// How a space's rows are stored once a segment is sealed and indexed (Qdrant's <c>datatype</c>): float32, or a
/// compact type that holds the same values (they are rounded to it on insert) in half or a quarter of the bytes.
/// </summary>
public enum VectorDatatype
{
    Float32 = 0,
    Float16 = 1,
    UInt8 = 2,
}

/// <summary>A vector space as the segment sees it.</summary>
public sealed record SegmentVectorSpace(string Name, int Dimension, VectorMetric Metric, VectorDatatype Datatype = VectorDatatype.Float32)
{
    /// <summary>Bytes of one stored component once compacted.</summary>
    public int ElementBytes => Datatype switch
    {
        VectorDatatype.Float16 => 2,
        VectorDatatype.UInt8 => 1,
        _ => sizeof(float),
    };
}
