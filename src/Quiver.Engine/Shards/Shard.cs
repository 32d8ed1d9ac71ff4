using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Quiver.Engine.Internal;
using Quiver.Engine.Operations;
using Quiver.Segment.Segments;
using Quiver.Storage.Wal;

namespace Quiver.Engine.Shards;

/// <summary>
/// A shard: a deterministic state machine over its ordered log. Writes are appended to the write-ahead log
/// (acknowledged once durable), then applied in log order by one apply loop to the shard's segment set. Readers
/// share a lock that the apply loop takes exclusively for each operation; the optimizer builds indexed segments
/// outside the lock and takes it only to seal and to swap.
/// </summary>
internal sealed partial class Shard : IAsyncDisposable
{
    private readonly string _directory;
    private readonly ShardOptions _options;
    private readonly ILogger _logger;
    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);
    private readonly IReadOnlyList<SegmentVectorSpace> _spaces;
    private SegmentSet _set;
    private readonly IShardLog _wal;
    private readonly Channel<(ulong Sequence, PointOperation? Operation, int Bytes)> _applyQueue =
        Channel.CreateUnbounded<(ulong, PointOperation?, int)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly AppliedWaiters _waiters = new();
    private readonly Task _applyLoop;
    private readonly Task _flushLoop;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _flushGate = new();
    private long _appliedSequence;
    private long _durableSequence;
    private long _flushedSequence;
    private int _disposed;

    private Shard(string directory, IReadOnlyList<SegmentVectorSpace> spaces, ShardOptions options, ShardIndexing indexing, ILogger logger, ShardState state, Func<ulong, IShardLog>? openLog)
    {
        _directory = directory;
        _spaces = spaces;
        _options = options;
        _indexing = indexing;
        _logger = logger;
        _set = state.Set;
        _persistedSegments = state.Persisted;
        _chunkedSegments = state.Chunked;
        _plainFile = state.PlainFile;
        _nextSegmentId = state.MaxSegmentId;
        _restoredLiveGraphs = state.RestoredLiveGraphs;
        foreach (var problem in state.LoadWarnings)
            EngineLog.LoadWarning(logger, directory, problem);
        var flushedSequence = state.AppliedSequence;
        _appliedSequence = (long)flushedSequence;
        _flushedSequence = (long)flushedSequence;
        // Cluster mode hands in the shard's replicated log; otherwise the local write-ahead log.
        _wal = openLog?.Invoke(flushedSequence + 1) ?? WriteAheadLog.Open(new WalOptions
        {
            Directory = Path.Combine(directory, "wal"),
            SegmentBytes = options.WalSegmentBytes,
            Fsync = options.Fsync,
            // A shard restored from a snapshot has state but no log: new records continue after that state.
            FirstSequence = flushedSequence + 1,
        });
        try
        {
            ReplayLogTail();
            OpenChangeFeed();
        }
        catch
        {
            _wal.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }

        _durableSequence = _appliedSequence;
        _wal.OnDurable = OnDurable;
        _applyLoop = Task.Run(ApplyLoopAsync);
        _flushLoop = Task.Run(FlushLoopAsync);
        _optimizerLoop = StartOptimizerThread();
        SignalOptimizer();
    }

    private long _servingSince = System.Diagnostics.Stopwatch.GetTimestamp();

    /// <summary>How long since the shard started serving (its log replayed, its readers let in).</summary>
    public TimeSpan ServingFor => System.Diagnostics.Stopwatch.GetElapsedTime(Volatile.Read(ref _servingSince));

    /// <summary>Marks the moment the shard starts serving reads (cluster mode: when its node is about to advertise it).</summary>
    public void MarkServing() => Volatile.Write(ref _servingSince, System.Diagnostics.Stopwatch.GetTimestamp());

    public ulong AppliedSequence => (ulong)Volatile.Read(ref _appliedSequence);

    /// <summary>The last operation durably in the log.</summary>
    public ulong DurableSequence => (ulong)Volatile.Read(ref _durableSequence);

    /// <summary>Operations logged durably but not yet applied: the apply queue's length.</summary>
    public long ApplyBacklog => Math.Max(0, Volatile.Read(ref _durableSequence) - Volatile.Read(ref _appliedSequence));

    public long WalBytes => _wal.SizeBytes;

    /// <summary>Its log lost records before this replica applied them (cluster mode): it must be rebuilt.</summary>
    public bool LogFaulted => _wal.Faulted;

    /// <summary>
    /// Opens the shard in <paramref name="directory"/>, replaying its log past the applied state. <paramref name="openLog"/>
    /// (given the first sequence the shard still needs) supplies a log other than the local WAL: cluster mode's.
    /// </summary>
    public static Shard Open(string directory, IReadOnlyList<SegmentVectorSpace> spaces, ShardOptions options, ShardIndexing indexing, ILogger logger, Func<ulong, IShardLog>? openLog = null)
    {
        Directory.CreateDirectory(directory);
        return new Shard(directory, spaces, options, indexing, logger, LoadState(directory, spaces, indexing), openLog);
    }

    /// <summary>
    /// Appends several operations in order with one durability point (one fsync for all); returns the last one's
    /// sequence once all are durable. Not cancellable: once a request reached the log it is written in
    /// full (a client going away must not drop some shards' parts of a write); only waiting for visibility is.
    /// </summary>
    public async ValueTask<ulong> SubmitBatchAsync(IReadOnlyList<PointOperation> operations)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (operations.Count == 1)
            return await _wal.AppendAsync(OperationCodec.Encode(operations[0]), CancellationToken.None).ConfigureAwait(false);
        return await _wal.AppendAllAsync(Encode(operations), CancellationToken.None).ConfigureAwait(false);
    }

    internal static ReadOnlyMemory<byte>[] Encode(IReadOnlyList<PointOperation> operations)
    {
        var records = new ReadOnlyMemory<byte>[operations.Count];
        for (var i = 0; i < records.Length; i++)
            records[i] = OperationCodec.Encode(operations[i]);
        return records;
    }

    public ValueTask WaitAppliedAsync(ulong sequence, CancellationToken cancellationToken) =>
        AppliedSequence >= sequence ? ValueTask.CompletedTask : _waiters.WaitAsync(sequence, cancellationToken);

    /// <summary>Runs <paramref name="reader"/> against a consistent view of the shard.</summary>
    public T Read<T>(Func<SegmentSet, T> reader)
    {
        _lock.EnterReadLock();
        try
        {
            return reader(_set);
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>
    /// Takes the read lock and returns the view it guards; disposing the scope releases it. For hot paths that
    /// would otherwise allocate a closure for <see cref="Read{T}"/> or need spans inside the locked region.
    /// </summary>
    public ShardReadScope EnterRead()
    {
        _lock.EnterReadLock();
        return new ShardReadScope(_lock, _set);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        // A change-feed cursor write in progress finishes before the folder can go; later ones are refused.
        lock (_feedLock)
        {
        }

        await _wal.DisposeAsync().ConfigureAwait(false);
        _applyQueue.Writer.TryComplete();
        await _applyLoop.ConfigureAwait(false);
        _waiters.Close($"Service unavailable: shard {_directory} closed (moved to other nodes, or the server is stopping)");
        await _stopping.CancelAsync().ConfigureAwait(false);
        _optimizerSignal.Release();
        foreach (var loop in new[] { _flushLoop, _optimizerLoop })
        {
            try
            {
                await loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        // The optimizer has stopped: every live graph is complete, and written whole so a restart resumes from it.
        _writeAllLiveGraphs = true;
        Flush();
        _stopping.Dispose();
        _optimizerSignal.Dispose();
        _lock.Dispose();
    }

    private void ReplayLogTail()
    {
        var from = AppliedSequence + 1;
        var replayed = 0;
        foreach (var record in _wal.ReadFrom(from))
        {
            ApplyLocked(record.Sequence, OperationCodec.Decode(record.Data.Span));
            replayed++;
        }

        if (replayed > 0)
            EngineLog.ShardReplayed(_logger, _directory, replayed, AppliedSequence);
    }

    // Runs on the log's writer thread (or a shared log's follower), in sequence order, right after each durability point.
    private void OnDurable(ulong firstSequence, IReadOnlyList<ReadOnlyMemory<byte>> records)
    {
        for (var i = 0; i < records.Count; i++)
        {
            var sequence = firstSequence + (ulong)i;
            PointOperation? operation;
            try
            {
                operation = OperationCodec.Decode(records[i].Span);
            }
#pragma warning disable CA1031 // A record that cannot be read is a bug or a foreign writer: it is skipped (logged), never retried forever.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                EngineLog.ApplyFailed(_logger, ex, _directory, sequence);
                operation = null;
            }

            _applyQueue.Writer.TryWrite((sequence, operation, records[i].Length));
        }

        Volatile.Write(ref _durableSequence, (long)firstSequence + records.Count - 1);
    }

    private async Task ApplyLoopAsync()
    {
        var reader = _applyQueue.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            var sinceRelease = 0;
            while (reader.TryRead(out var item))
            {
                if (_options.ApplyDelay > TimeSpan.Zero)
                    await Task.Delay(_options.ApplyDelay).ConfigureAwait(false);
                if (item.Operation is { } operation)
                {
                    ApplyLocked(item.Sequence, operation);
                    RememberApplied(item.Sequence, operation, item.Bytes);
                }
                else
                {
                    // An unreadable record (logged when it arrived) still counts as applied, so waiters move on.
                    Volatile.Write(ref _appliedSequence, (long)item.Sequence);
                }
                // Under a steady stream the queue may never run dry: release waiters as we go, not only then.
                if (++sinceRelease == 256)
                {
                    _waiters.Release(AppliedSequence);
                    sinceRelease = 0;
                }
            }

            _waiters.Release(AppliedSequence);
            SignalOptimizer();
        }
    }

    private void ApplyLocked(ulong sequence, PointOperation operation)
    {
        _lock.EnterWriteLock();
        try
        {
            Apply(sequence, operation);
        }
#pragma warning disable CA1031 // A failed apply is a bug; the shard keeps following its log rather than stopping.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            EngineLog.ApplyFailed(_logger, ex, _directory, sequence);
        }
        finally
        {
            Volatile.Write(ref _appliedSequence, (long)sequence);
            _lock.ExitWriteLock();
        }
    }

    private async Task FlushLoopAsync()
    {
        using var timer = new PeriodicTimer(_options.FlushInterval);
        while (await timer.WaitForNextTickAsync(_stopping.Token).ConfigureAwait(false))
        {
            try
            {
                Flush();
            }
#pragma warning disable CA1031 // A failed background flush is retried next tick; the log still holds the data.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                EngineLog.FlushFailed(_logger, ex, _directory);
            }
        }
    }
}
