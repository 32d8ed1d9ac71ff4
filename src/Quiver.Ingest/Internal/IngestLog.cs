using Microsoft.Extensions.Logging;

namespace Quiver.Ingest.Internal;

/// <summary>Ingestion log events (ids 4001-4099).</summary>
internal static partial class IngestLog
{
    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Connector {Name}: started ({Kind} -> collection {Collection})")]
    public static partial void Started(ILogger logger, string name, string kind, string collection);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "Connector {Name}: failed, restarting in {DelayMs} ms")]
    public static partial void Failed(ILogger logger, Exception exception, string name, int delayMs);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Warning, Message = "Connector {Name}: event dead-lettered: {Reason}")]
    public static partial void DeadLettered(ILogger logger, string name, string reason);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Information, Message = "Connector {Name}: write retry {Attempt} in {DelayMs} ms: {Reason}")]
    public static partial void Retrying(ILogger logger, string name, int attempt, int delayMs, string reason);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Information, Message = "Connector {Name}: paused by back-pressure (apply backlog {Apply}, unindexed points {Unindexed})")]
    public static partial void BackPressure(ILogger logger, string name, long apply, long unindexed);

    [LoggerMessage(EventId = 4006, Level = LogLevel.Information, Message = "Connector {Name}: consumer {Durable} resumes after stream sequence {Sequence}")]
    public static partial void Resuming(ILogger logger, string name, string durable, ulong sequence);

    [LoggerMessage(EventId = 4007, Level = LogLevel.Information, Message = "Connector {Name}: stopped")]
    public static partial void Stopped(ILogger logger, string name);

    [LoggerMessage(EventId = 4008, Level = LogLevel.Information, Message = "Connector {Name}: partitions {Change}: {Partitions}")]
    public static partial void Partitions(ILogger logger, string name, string change, string partitions);

    [LoggerMessage(EventId = 4009, Level = LogLevel.Warning, Message = "Change stream: failed, retrying from the last published position in {DelayMs} ms")]
    public static partial void ChangeStreamFailed(ILogger logger, Exception exception, int delayMs);

    [LoggerMessage(EventId = 4010, Level = LogLevel.Warning, Message = "Change stream: collection {Collection} shard {Shard}: sequences {From}..{To} were no longer in the log and are not published")]
    public static partial void ChangeStreamGap(ILogger logger, string collection, int shard, ulong from, ulong to);

    [LoggerMessage(EventId = 4011, Level = LogLevel.Warning, Message = "Change stream: collection {Collection} shard {Shard}: publishing failed, retrying in {DelayMs} ms")]
    public static partial void ChangeStreamShardFailed(ILogger logger, Exception exception, string collection, int shard, int delayMs);

    [LoggerMessage(EventId = 4012, Level = LogLevel.Information, Message = "Connector {Name}: offsets not committed while the group rebalances ({Reason}); the next owner re-reads them")]
    public static partial void CommitSkipped(ILogger logger, string name, string reason);
}
