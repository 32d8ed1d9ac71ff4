namespace Quiver.Cluster;

/// <summary>Cluster mode's settings (<c>cluster:</c> in the configuration, or <c>quiver serve --cluster URL</c>).</summary>
public sealed record ClusterOptions
{
    /// <summary>The NATS servers (comma-separated URLs); JetStream must be enabled on them.</summary>
    public required string NatsUrl { get; init; }

    /// <summary>
    /// This node's stable identity: placement hashes it, so a restarted node gets its shards back. On Kubernetes the
    /// StatefulSet pod name; by default the host name.
    /// </summary>
    public required string NodeId { get; init; }

    /// <summary>The base URL other nodes reach this node's REST API at (e.g. <c>http://quiver-0.quiver:6333</c>).</summary>
    public required Uri AdvertiseUrl { get; init; }

    /// <summary>JetStream replicas of each shard log and metadata bucket: 3 on a three-server NATS cluster, 1 on one server.</summary>
    public int LogReplicas { get; init; } = 1;

    /// <summary>How often this node renews its membership; it is taken for dead after three missed beats.</summary>
    public TimeSpan Heartbeat { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a call to another node (its part of a search, a wait for a write) may take before it is tried elsewhere.</summary>
    public TimeSpan PeerTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Prefix of the JetStream streams and buckets, so several Quiver clusters can share one NATS cluster.</summary>
    public string Prefix { get; init; } = "QUIVER";

    /// <summary>
    /// How often each shard's snapshot is taken (by the first replica placement names for it) and stored in the
    /// JetStream Object Store, after which the log is compacted below what the snapshot and every serving replica
    /// cover. A new or wiped replica starts from the newest snapshot and replays only the tail. Zero: never.
    /// </summary>
    public TimeSpan SnapshotInterval { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The API key this node sends to the others on internal calls (the cluster shares one).</summary>
    public string? ApiKey { get; init; }
}
