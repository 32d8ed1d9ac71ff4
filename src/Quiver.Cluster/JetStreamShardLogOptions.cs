namespace Quiver.Cluster;

/// <summary>Where a shard's log lives in JetStream and how it is written.</summary>
public sealed record JetStreamShardLogOptions
{
    /// <summary>The stream (one per shard), e.g. <c>QUIVER_LOG_{collection}_{shard}</c>.</summary>
    public required string Stream { get; init; }

    /// <summary>The stream's one subject, e.g. <c>quiver.log.{collection}.{shard}</c>.</summary>
    public required string Subject { get; init; }

    /// <summary>Replicas of the stream (R3 in a 3-node cluster; 1 on a single server).</summary>
    public int Replicas { get; init; } = 1;

    /// <summary>How long JetStream remembers message ids, so a retried publish is stored once.</summary>
    public TimeSpan DuplicateWindow { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// The writer's identity: message ids are <c>{WriterId}-{sequence}</c>, so a publish retried after a lost ack
    /// (a leader change) is deduplicated, and another writer's record at the same sequence is not mistaken for ours.
    /// </summary>
    public string WriterId { get; init; } = Guid.NewGuid().ToString("N");

    /// <summary>How long one publish may wait for its ack before it is retried with the same message id.</summary>
    public TimeSpan AckTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long one record is retried (same message id) before its append fails: longer than a stream leader
    /// election (4-7 s measured), during which publishes find no responder at once or get no ack.
    /// </summary>
    public TimeSpan PublishRetryFor { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A follower that has not advanced for this long while the stream holds records it has not seen starts a new
    /// consumer (a consumer on a server that died can stall without reporting an error).
    /// </summary>
    public TimeSpan FollowStallTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Several writers share the log (cluster mode: any node appends to any shard): appends are not fenced, JetStream
    /// orders them, and <see cref="Quiver.Storage.Wal.IShardLog.OnDurable"/> reports every record of the stream (this
    /// writer's and the others') by following it, in sequence order, from where the last read stopped.
    /// </summary>
    public bool Shared { get; init; }

    /// <summary>Records fetched per round trip when reading.</summary>
    public int ReadBatch { get; init; } = 512;
}
