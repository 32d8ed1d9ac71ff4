using Quiver.Segment.Payloads;
using Quiver.Segment.Points;

namespace Quiver.Engine.Query;

/// <summary>A point returned by a lookup or scroll. Null members were not requested.</summary>
public sealed record PointRecord(PointId Id, Payload? Payload, IReadOnlyList<NamedVector>? Vectors, double? OrderValue = null);

/// <summary>A point returned by a search, with its score on the API's scale.</summary>
public sealed record ScoredRecord(PointId Id, ulong Version, float Score, Payload? Payload, IReadOnlyList<NamedVector>? Vectors);

public sealed record ScrollResult(IReadOnlyList<PointRecord> Points, PointId? NextPageOffset);

/// <summary>The outcome of a write: its log sequence, and whether it was applied before returning.</summary>
public sealed record UpdateResult(ulong OperationId, bool Completed);

/// <summary>
/// Where a write landed: per shard id, the log sequence of its last part there (0: the write did not touch that
/// shard). A later read that asks to see at least these sequences sees the write (read-your-writes), on any replica.
/// </summary>
public sealed class WriteReceipt
{
    public IReadOnlyList<ulong> ShardSequences { get; internal set; } = [];

    /// <summary>The incarnation (cluster mode: the logs' id) the sequences belong to; null on a single node.</summary>
    public string? Incarnation { get; internal set; }
}
