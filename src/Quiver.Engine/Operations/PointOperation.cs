using Quiver.Segment.Payloads;
using Quiver.Segment.Points;

namespace Quiver.Engine.Operations;

/// <summary>A point as written by upsert: replaces every vector and the whole payload.</summary>
public sealed record PointWrite(PointId Id, IReadOnlyList<NamedVector> Vectors, Payload Payload);

/// <summary>New values for some of a point's vectors; the others are kept.</summary>
public sealed record PointVectors(PointId Id, IReadOnlyList<NamedVector> Vectors);

/// <summary>A filter as it travels through the log: its JSON text, parsed again where it is applied.</summary>
public sealed record FilterSpec(byte[] Json);

/// <summary>Which points an operation touches: explicit ids, or every point matching a filter.</summary>
public sealed record PointSelector(IReadOnlyList<PointId>? Ids, FilterSpec? Filter)
{
    public static PointSelector ByIds(IReadOnlyList<PointId> ids) => new(ids, null);

    public static PointSelector ByFilter(FilterSpec filter) => new(null, filter);
}

/// <summary>
/// A state change of a shard. Operations are the records of the shard log: applying the same log in the same
/// order gives the same state, and replaying one whose sequence is not above a point's version changes nothing.
/// </summary>
public abstract record PointOperation;

public sealed record UpsertPoints(IReadOnlyList<PointWrite> Points) : PointOperation;

public sealed record DeletePoints(PointSelector Selector) : PointOperation;

/// <summary>Merges keys into the payload, at the root or inside the object at <see cref="Key"/>.</summary>
public sealed record SetPayload(Payload Values, PointSelector Selector, string? Key) : PointOperation;

public sealed record OverwritePayload(Payload Values, PointSelector Selector) : PointOperation;

public sealed record DeletePayloadKeys(IReadOnlyList<string> Keys, PointSelector Selector) : PointOperation;

public sealed record ClearPayload(PointSelector Selector) : PointOperation;

public sealed record UpdateVectors(IReadOnlyList<PointVectors> Points) : PointOperation;

public sealed record DeleteVectors(PointSelector Selector, IReadOnlyList<string> VectorNames) : PointOperation;

/// <summary>Creates a payload index; <see cref="SchemaJson"/> is the field schema as the API received it.</summary>
public sealed record CreateFieldIndex(string FieldName, byte[] SchemaJson) : PointOperation;

public sealed record DeleteFieldIndex(string FieldName) : PointOperation;
