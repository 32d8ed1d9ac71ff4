using Quiver.Segment.Segments;

namespace Quiver.Engine.Collections;

/// <summary>
/// One vector space of a collection: the unnamed default (name "") or a named vector. <paramref name="Datatype"/>:
/// how indexed segments store its rows (values are rounded to it on insert).
/// </summary>
public sealed record VectorSpace(string Name, int Dimension, Distance Distance, VectorDatatype Datatype = VectorDatatype.Float32);

/// <summary>The API's names for <see cref="VectorDatatype"/>.</summary>
public static class DatatypeNames
{
    public static bool TryParse(string? name, out VectorDatatype datatype)
    {
        (var known, datatype) = name switch
        {
            // gRPC clients may send Qdrant's Datatype.Default, which REST spells "default": float32.
            "float32" or "default" => (true, VectorDatatype.Float32),
            "float16" => (true, VectorDatatype.Float16),
            "uint8" => (true, VectorDatatype.UInt8),
            _ => (false, VectorDatatype.Float32),
        };
        return known;
    }
}
