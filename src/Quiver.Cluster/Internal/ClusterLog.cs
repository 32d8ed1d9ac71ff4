using Microsoft.Extensions.Logging;

namespace Quiver.Cluster.Internal;

internal static partial class ClusterLog
{
    [LoggerMessage(EventId = 700, Level = LogLevel.Information, Message = "Cluster node {NodeId} joined through {NatsUrl}; reachable at {Url}")]
    public static partial void Joined(ILogger logger, string nodeId, string natsUrl, Uri url);

    [LoggerMessage(EventId = 701, Level = LogLevel.Information, Message = "Members changed: {Members}")]
    public static partial void MembersChanged(ILogger logger, string members);

    [LoggerMessage(EventId = 702, Level = LogLevel.Information, Message = "Serving shard {Shard} of {Collection} (caught up to sequence {Sequence})")]
    public static partial void ReplicaStarted(ILogger logger, string collection, int shard, ulong sequence);

    [LoggerMessage(EventId = 703, Level = LogLevel.Information, Message = "Stopped serving shard {Shard} of {Collection}: its replicas are elsewhere")]
    public static partial void ReplicaStopped(ILogger logger, string collection, int shard);

    [LoggerMessage(EventId = 704, Level = LogLevel.Warning, Message = "Cluster sync failed; retrying: {Reason}")]
    public static partial void SyncFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 705, Level = LogLevel.Warning, Message = "Node {NodeId} did not confirm sequence {Sequence} of shard {Shard} of {Collection}: {Reason}")]
    public static partial void WaitSkipped(ILogger logger, string nodeId, string collection, int shard, ulong sequence, string reason);

    [LoggerMessage(EventId = 707, Level = LogLevel.Information, Message = "Resharding {Collection} from {From} to {To} shards: copying its logs")]
    public static partial void ReshardingStarted(ILogger logger, string collection, int from, int to);

    [LoggerMessage(EventId = 708, Level = LogLevel.Information, Message = "Resharding {Collection}: old logs sealed; {Copied} records copied, the last {Tail} after the seal")]
    public static partial void ReshardingSealed(ILogger logger, string collection, ulong copied, long tail);

    [LoggerMessage(EventId = 709, Level = LogLevel.Information, Message = "Resharding {Collection} done: {Shards} shards serve it")]
    public static partial void ReshardingDone(ILogger logger, string collection, int shards);

    [LoggerMessage(EventId = 710, Level = LogLevel.Information, Message = "Snapshot of shard {Shard} of {Collection} stored: covers sequence {Sequence}, {Bytes} bytes")]
    public static partial void SnapshotStored(ILogger logger, string collection, int shard, ulong sequence, long bytes);

    [LoggerMessage(EventId = 711, Level = LogLevel.Information, Message = "Shard {Shard} of incarnation {Incarnation} restored from its snapshot (sequence {Sequence}); replaying the log's tail")]
    public static partial void SnapshotRestored(ILogger logger, string incarnation, int shard, ulong sequence);

    [LoggerMessage(EventId = 712, Level = LogLevel.Warning, Message = "Snapshot round failed; retrying at the next: {Reason}")]
    public static partial void SnapshotFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 713, Level = LogLevel.Information, Message = "Resharding {Collection}: {Step}")]
    public static partial void ReshardingStep(ILogger logger, string collection, string step);

    [LoggerMessage(EventId = 714, Level = LogLevel.Information, Message = "Snapshot {Key} was replaced or stalled while being read; reading it again: {Reason}")]
    public static partial void SnapshotReadAgain(ILogger logger, string key, string reason);

    [LoggerMessage(EventId = 706, Level = LogLevel.Warning, Message = "Opening shard {Shard} of {Collection} failed; retrying at the next sync: {Reason}")]
    public static partial void ReplicaFailed(ILogger logger, string collection, int shard, string reason);
}
