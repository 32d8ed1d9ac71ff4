using System.Buffers.Binary;
using Quiver.Engine.Operations;
using Quiver.Storage.Files;

namespace Quiver.Engine.Shards;

/// <summary>
/// The shard's side of the change stream (an outbox driven from the log): applied operations are read back from the
/// write-ahead log in order, the publisher's position is kept in the shard's folder (so it goes with the
/// collection), and the log is kept from that position on until it is published.
/// </summary>
internal sealed partial class Shard
{
    private const string FeedCursorFile = "change-feed.cursor";
    private const string FeedCursorKind = "FEED";

    // Sequences at or above this stay in the log for the change stream; long.MaxValue when nothing is retained.
    private long _retainFrom = long.MaxValue;

    /// <summary>The last sequence the change stream published, or null when it never ran on this shard.</summary>
    public ulong? ReadFeedCursor()
    {
        var path = Path.Combine(_directory, FeedCursorFile);
        if (!File.Exists(path))
            return null;
        return BinaryPrimitives.ReadUInt64LittleEndian(ChecksummedFile.Read(path, FeedCursorKind, 1).Body.Span);
    }

    /// <summary>Records (durably) that everything up to <paramref name="published"/> is published; the log before it may go.</summary>
    public void WriteFeedCursor(ulong published)
    {
        Span<byte> body = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(body, published);
        var bytes = body.ToArray();
        ChecksummedFile.WriteAtomic(Path.Combine(_directory, FeedCursorFile), FeedCursorKind, 1, s => s.Write(bytes));
        RetainLogFrom(published + 1);
    }

    /// <summary>The sequence before the oldest record still in the log: where a change stream can start.</summary>
    public ulong LogStart => _wal.FirstSequence - 1;

    /// <summary>Keeps log records from <paramref name="sequence"/> on through flushes, until moved on.</summary>
    public void RetainLogFrom(ulong sequence) => Volatile.Write(ref _retainFrom, (long)Math.Min(sequence, long.MaxValue));

    /// <summary>Where the log may be truncated: below what is flushed and below what the change stream still needs.</summary>
    private ulong TruncationPoint(ulong applied) => Math.Min(applied + 1, (ulong)Volatile.Read(ref _retainFrom));

    /// <summary>
    /// Up to <paramref name="max"/> applied operations after <paramref name="after"/>, in log order. Operations
    /// no longer in the log (it was truncated before the change stream ran) are skipped: the first returned
    /// sequence then shows the gap.
    /// </summary>
    public IReadOnlyList<(ulong Sequence, PointOperation Operation)> ReadApplied(ulong after, int max)
    {
        var applied = AppliedSequence;
        if (after >= applied)
            return [];
        var result = new List<(ulong, PointOperation)>(Math.Min(max, (int)Math.Min(int.MaxValue, applied - after)));
        foreach (var record in _wal.ReadFrom(after + 1))
        {
            if (record.Sequence > applied || result.Count >= max)
                break;
            result.Add((record.Sequence, OperationCodec.Decode(record.Data.Span)));
        }

        return result;
    }
}
