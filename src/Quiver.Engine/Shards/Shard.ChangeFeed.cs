using System.Buffers.Binary;
using Quiver.Engine.Operations;
using Quiver.Storage.Files;

namespace Quiver.Engine.Shards;

/// <summary>Where the change stream stands on a shard, and which incarnation of the shard's folder it belongs to.</summary>
/// <param name="Published">The last sequence published.</param>
/// <param name="Incarnation">Random, made with the cursor: a re-created collection, whose sequences start again, gets a new one.</param>
public readonly record struct ChangeFeedCursor(ulong Published, ulong Incarnation);

/// <summary>
/// The shard's side of the change stream (an outbox driven from the log). When the stream is on, the shard makes
/// its cursor at open (so nothing is truncated before the publisher first comes), keeps the log from the cursor on,
/// and keeps recently applied operations in memory (bounded) so a publisher that keeps up never reads the disk.
/// </summary>
internal sealed partial class Shard
{
    private const string FeedCursorFile = "change-feed.cursor";
    private const string FeedCursorKind = "FEED";
    private const int RecentMaxCount = 8192;
    private const long RecentMaxBytes = 16L * 1024 * 1024;

    private readonly Lock _feedLock = new();
    private readonly Queue<(ulong Sequence, PointOperation Operation, int Bytes)> _recent = new();
    private long _recentBytes;
    private ChangeFeedCursor? _feedCursor;

    // Sequences at or above this stay in the log for the change stream; long.MaxValue when nothing is retained.
    private long _retainFrom = long.MaxValue;

    /// <summary>The change stream's cursor, or null when the stream is off.</summary>
    public ChangeFeedCursor? FeedCursor
    {
        get
        {
            lock (_feedLock)
                return _feedCursor;
        }
    }

    /// <summary>Reads or makes the cursor (at open, when the stream is on); a new one starts at the oldest logged operation.</summary>
    private void OpenChangeFeed()
    {
        if (!_options.ChangeFeed)
            return;
        var path = Path.Combine(_directory, FeedCursorFile);
        ChangeFeedCursor cursor;
        if (File.Exists(path))
        {
            var body = ChecksummedFile.Read(path, FeedCursorKind, 1).Body.Span;
            if (body.Length != 16)
                throw new StorageCorruptionException(path, ChecksummedFile.HeaderSize, $"a change-feed cursor of {body.Length} bytes");
            // Never past what is applied (a damaged or foreign file must not stop truncation or skip changes).
            cursor = new ChangeFeedCursor(Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(body), AppliedSequence), BinaryPrimitives.ReadUInt64LittleEndian(body[8..]));
        }
        else
        {
            cursor = new ChangeFeedCursor(Math.Min(_wal.FirstSequence - 1, AppliedSequence), (ulong)Random.Shared.NextInt64(1, long.MaxValue));
            WriteFeedCursor(cursor);
        }

        _feedCursor = cursor;
        RetainLogFrom(cursor.Published + 1);
    }

    /// <summary>
    /// Records durably that everything up to <paramref name="published"/> is published; the log before it may go.
    /// Refused once the shard is closed, so a publisher still holding a deleted collection never writes into the
    /// folder of a new one made under the same name.
    /// </summary>
    public void AdvanceChangeFeed(ulong published)
    {
        lock (_feedLock)
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            var cursor = (_feedCursor ?? throw new InvalidOperationException("the change stream is off")) with { Published = Math.Min(published, AppliedSequence) };
            WriteFeedCursor(cursor);
            _feedCursor = cursor;
            RetainLogFrom(cursor.Published + 1);
        }
    }

    private void WriteFeedCursor(ChangeFeedCursor cursor)
    {
        var body = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(body, cursor.Published);
        BinaryPrimitives.WriteUInt64LittleEndian(body.AsSpan(8), cursor.Incarnation);
        ChecksummedFile.WriteAtomic(Path.Combine(_directory, FeedCursorFile), FeedCursorKind, 1, s => s.Write(body));
    }

    private void RetainLogFrom(ulong sequence) => Volatile.Write(ref _retainFrom, (long)Math.Min(sequence, long.MaxValue));

    /// <summary>Where the log may be truncated: below what is flushed and below what the change stream still needs.</summary>
    private ulong TruncationPoint(ulong applied) => Math.Min(applied + 1, (ulong)Volatile.Read(ref _retainFrom));

    /// <summary>Called by the apply loop after each operation: keeps it for the publisher, within the bounds.</summary>
    private void RememberApplied(ulong sequence, PointOperation operation, int bytes)
    {
        if (!_options.ChangeFeed)
            return;
        lock (_recent)
        {
            _recent.Enqueue((sequence, operation, bytes));
            _recentBytes += bytes;
            while (_recent.Count > RecentMaxCount || (_recentBytes > RecentMaxBytes && _recent.Count > 1))
                _recentBytes -= _recent.Dequeue().Bytes;
        }
    }

    /// <summary>
    /// Applied operations after <paramref name="after"/>, in log order: at most <paramref name="max"/>, and about
    /// <paramref name="maxBytes"/> of log records (always at least one). From memory when they are still there,
    /// otherwise from the log on disk. Operations no longer in the log are skipped: the first sequence returned
    /// then shows the gap.
    /// </summary>
    public IReadOnlyList<(ulong Sequence, PointOperation Operation)> ReadApplied(ulong after, int max, long maxBytes)
    {
        var applied = AppliedSequence;
        if (after >= applied)
            return [];
        var result = new List<(ulong, PointOperation)>();
        long bytes = 0;
        lock (_recent)
        {
            if (_recent.Count > 0 && _recent.Peek().Sequence <= after + 1)
            {
                foreach (var (sequence, operation, size) in _recent)
                {
                    if (sequence <= after)
                        continue;
                    if (sequence > applied || result.Count >= max || (result.Count > 0 && bytes + size > maxBytes))
                        break;
                    result.Add((sequence, operation));
                    bytes += size;
                }

                return result;
            }
        }

        foreach (var record in _wal.ReadFrom(after + 1))
        {
            if (record.Sequence > applied || result.Count >= max || (result.Count > 0 && bytes + record.Data.Length > maxBytes))
                break;
            result.Add((record.Sequence, OperationCodec.Decode(record.Data.Span)));
            bytes += record.Data.Length;
        }

        return result;
    }
}
