using Microsoft.Extensions.Logging;

namespace Quiver.Engine.Internal;

/// <summary>Engine log messages, with stable event ids.</summary>
internal static partial class EngineLog
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Shard {Directory}: replayed {Count} log records up to sequence {Sequence}")]
    public static partial void ShardReplayed(ILogger logger, string directory, int count, ulong sequence);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Debug, Message = "Shard {Directory}: flushed up to sequence {Sequence}")]
    public static partial void ShardFlushed(ILogger logger, string directory, ulong sequence);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Error, Message = "Shard {Directory}: applying sequence {Sequence} failed; the operation is skipped")]
    public static partial void ApplyFailed(ILogger logger, Exception exception, string directory, ulong sequence);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning, Message = "Shard {Directory}: background flush failed; will retry")]
    public static partial void FlushFailed(ILogger logger, Exception exception, string directory);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Information, Message = "Shard {Directory}: {Kind} of {Points} points done in {Seconds:F1} s")]
    public static partial void OptimizationDone(ILogger logger, string directory, string kind, long points, double seconds);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Error, Message = "Shard {Directory}: {Kind} failed; the sealed segments keep serving")]
    public static partial void OptimizationFailed(ILogger logger, Exception exception, string directory, string kind);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Warning, Message = "Shard {Directory}: {Problem}")]
    public static partial void LoadWarning(ILogger logger, string directory, string problem);

    [LoggerMessage(EventId = 1008, Level = LogLevel.Warning, Message = "Shard {Directory}: building a projection sketch failed; exact scans read every row of the segment")]
    public static partial void SketchFailed(ILogger logger, Exception exception, string directory);

    [LoggerMessage(EventId = 1009, Level = LogLevel.Warning, Message = "Shard {Directory}: building payload graphs failed; filters on payload values walk the main graph")]
    public static partial void PayloadGraphsFailed(ILogger logger, Exception exception, string directory);

    [LoggerMessage(EventId = 1015, Level = LogLevel.Warning, Message = "Shard {Directory}: writing quantized codes failed; they are built again after a restart")]
    public static partial void CodesWriteFailed(ILogger logger, Exception exception, string directory);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Information, Message = "Loaded collection {Name} ({Shards} shards)")]
    public static partial void CollectionLoaded(ILogger logger, string name, int shards);

    [LoggerMessage(EventId = 1011, Level = LogLevel.Information, Message = "Created collection {Name}")]
    public static partial void CollectionCreated(ILogger logger, string name);

    [LoggerMessage(EventId = 1012, Level = LogLevel.Information, Message = "Deleted collection {Name}")]
    public static partial void CollectionDeleted(ILogger logger, string name);

    [LoggerMessage(EventId = 1016, Level = LogLevel.Information, Message = "Collection {Name} now served by incarnation {Incarnation}; closing the one it replaced")]
    public static partial void CollectionReplaced(ILogger logger, string name, string incarnation);

    [LoggerMessage(EventId = 1013, Level = LogLevel.Information, Message = "Snapshot {Name} written ({Bytes} bytes)")]
    public static partial void SnapshotCreated(ILogger logger, string name, long bytes);

    [LoggerMessage(EventId = 1014, Level = LogLevel.Information, Message = "Collection {Name} recovered from a snapshot")]
    public static partial void CollectionRecovered(ILogger logger, string name);
}
