using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Quiver.Segment.Errors;
using Quiver.Storage.Wal;

namespace Quiver.Cluster;

/// <summary>
/// A shard log on a JetStream stream (cluster mode): the record for sequence n is the stream's message n, stored by
/// the stream's replica quorum before the append completes. The writer is fenced: every publish expects the
/// stream's last sequence to be the one this writer saw, so a second writer on the same shard fails its appends
/// (<see cref="ShardLogFencedException"/>) instead of interleaving records. Each publish carries a message id, so a
/// retry after a lost ack (a leader election takes 4-7 s) is stored once.
/// </summary>
public sealed class JetStreamShardLog : IShardLog
{
    /// <summary>JetStream's error code for a publish whose expected last sequence does not match.</summary>
    private const int WrongLastSequence = 10071;

    /// <summary>JetStream's error code for an operation a sealed stream refuses.</summary>
    private const int StreamSealed = 10109;

    private readonly NatsJSContext _js;
    private readonly JetStreamShardLogOptions _options;
    private readonly SemaphoreSlim _writer = new(1, 1);
    private readonly INatsJSStream _stream;
    private readonly CancellationTokenSource _stop = new();
    private ulong _lastSequence;
    private long _appendedBytes;
    private long _messageCounter;
    private readonly string _instance = Guid.NewGuid().ToString("N")[..12];
    private ulong _followFrom = 1;
    private Task? _follow;
    private bool _faulted;
    private Action<ulong, IReadOnlyList<ReadOnlyMemory<byte>>>? _onDurable;

    private JetStreamShardLog(NatsJSContext js, INatsJSStream stream, JetStreamShardLogOptions options)
    {
        _js = js;
        _stream = stream;
        _options = options;
        _lastSequence = stream.Info.State.LastSeq;
    }

    /// <summary>Creates the shard's stream if it does not exist (file storage, the configured replicas) and opens it.</summary>
    public static async Task<JetStreamShardLog> OpenAsync(INatsConnection connection, JetStreamShardLogOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var js = new NatsJSContext((NatsConnection)connection);
        var stream = await js.CreateOrUpdateStreamAsync(
            new StreamConfig(options.Stream, [options.Subject])
            {
                Storage = StreamConfigStorage.File,
                NumReplicas = options.Replicas,
                DuplicateWindow = options.DuplicateWindow,
                Retention = StreamConfigRetention.Limits,
                Discard = StreamConfigDiscard.Old,
            },
            cancellationToken).ConfigureAwait(false);
        return new JetStreamShardLog(js, stream, options);
    }

    /// <summary>Opens the shard's existing stream; null when there is none (its collection was deleted).</summary>
    public static async Task<JetStreamShardLog?> OpenExistingAsync(INatsConnection connection, JetStreamShardLogOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var js = new NatsJSContext((NatsConnection)connection);
        try
        {
            var stream = await js.GetStreamAsync(options.Stream, cancellationToken: cancellationToken).ConfigureAwait(false);
            return new JetStreamShardLog(js, stream, options);
        }
        catch (NatsJSApiException e) when (e.Error.Code == 404)
        {
            return null;
        }
    }

    /// <summary>Seals the stream: it keeps its records and refuses new ones (resharding's cut-over).</summary>
    public static async Task SealAsync(INatsConnection connection, string stream, CancellationToken cancellationToken = default)
    {
        var js = new NatsJSContext((NatsConnection)connection);
        var current = await js.GetStreamAsync(stream, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (current.Info.Config.Sealed)
            return;
        await js.UpdateStreamAsync(current.Info.Config with { Sealed = true }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes the shard's stream and every record in it; false when there was none.</summary>
    public static async Task<bool> DeleteAsync(INatsConnection connection, string stream, CancellationToken cancellationToken = default)
    {
        var js = new NatsJSContext((NatsConnection)connection);
        try
        {
            return await js.DeleteStreamAsync(stream, cancellationToken).ConfigureAwait(false);
        }
        catch (NatsJSApiException e) when (e.Error.Code == 404)
        {
            return false;
        }
    }

    public ulong FirstSequence => Math.Max(1, _stream.Info.State.FirstSeq);

    public ulong LastSequence => Volatile.Read(ref _lastSequence);

    /// <summary>The follower found records missing (compacted before it read them) and stopped.</summary>
    public bool Faulted => Volatile.Read(ref _faulted);

    /// <summary>Bytes in the stream: as of the last read or truncation, plus the records appended since.</summary>
    public long SizeBytes => (long)_stream.Info.State.Bytes + Interlocked.Read(ref _appendedBytes);

    /// <summary>
    /// Set by the shard before its first append. A shared log starts following the stream here, from where the
    /// shard's replay (<see cref="ReadFrom"/>) stopped, and reports each record as it is stored, whoever wrote it.
    /// </summary>
    public Action<ulong, IReadOnlyList<ReadOnlyMemory<byte>>>? OnDurable
    {
        get => _onDurable;
        set
        {
            _onDurable = value;
            if (_options.Shared && value is not null && _follow is null)
                _follow = Task.Run(FollowAsync);
        }
    }

    public async ValueTask<ulong> AppendAsync(ReadOnlyMemory<byte> record, CancellationToken ct = default) =>
        await AppendAllAsync([record], ct).ConfigureAwait(false);

    /// <summary>
    /// Appends in order; returns the last record's sequence. A fenced log returns contiguous sequences (see
    /// <see cref="AppendBatchAsync"/>); a shared one publishes each record after the previous one's ack, so they
    /// keep their order but another writer's records may fall between them.
    /// </summary>
    public async ValueTask<ulong> AppendAllAsync(IReadOnlyList<ReadOnlyMemory<byte>> records, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (!_options.Shared)
            return await AppendBatchAsync(records, ct).ConfigureAwait(false) + (ulong)records.Count - 1;
        if (records.Count == 0)
            throw new ArgumentException("nothing to append", nameof(records));
        ulong last = 0;
        foreach (var record in records)
            last = await PublishSharedAsync(record, ct).ConfigureAwait(false);
        return last;
    }

    private async Task<ulong> PublishSharedAsync(ReadOnlyMemory<byte> record, CancellationToken ct)
    {
        // Unique per log object (a node may open a shard's log more than once: as a writer, later as a replica), so
        // only a retry after a lost ack carries an id the stream has seen, and it is stored once.
        var opts = new NatsJSPubOpts { MsgId = $"{_options.WriterId}-{_instance}-{Interlocked.Increment(ref _messageCounter)}" };
        var data = record.ToArray();
        var retrying = System.Diagnostics.Stopwatch.StartNew();
        for (var attempt = 1; ; attempt++)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(_options.AckTimeout);
            try
            {
                var ack = await _js.PublishAsync(_options.Subject, data, opts: opts, cancellationToken: timeout.Token).ConfigureAwait(false);
                if (ack.Error is { } error)
                {
                    if (error.ErrCode == StreamSealed || error.Description?.Contains("sealed", StringComparison.OrdinalIgnoreCase) == true)
                        throw new ShardLogSealedException($"{_options.Stream} is sealed: its collection was resharded");
                    throw new NatsJSApiException(error);
                }
                Interlocked.Add(ref _appendedBytes, record.Length);
                return ack.Seq;
            }
            catch (Exception e) when (retrying.Elapsed < _options.PublishRetryFor && !ct.IsCancellationRequested && IsTransient(e))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(1000, 50 * attempt)), ct).ConfigureAwait(false);
            }
            catch (Exception e) when (!ct.IsCancellationRequested && IsTransient(e))
            {
                // Outcome unknown (a lost ack may have been stored): the caller learns the log is unavailable, not
                // that the write failed; retrying it is safe, as point writes are idempotent.
                throw QuiverException.Unavailable(
                    $"Service unavailable: the log of {_options.Stream} did not acknowledge within {_options.PublishRetryFor.TotalSeconds:F0} s ({e.Message}); the write may or may not have been stored");
            }
        }
    }

    private static bool IsTransient(Exception e) =>
        e is OperationCanceledException or NatsNoRespondersException or NatsJSPublishNoResponseException or NatsException and not NatsJSApiException;

    /// <summary>Reports every record from <see cref="_followFrom"/> on, in order, until disposed; resumes after a failure or a stall.</summary>
    private async Task FollowAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            using var round = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            var watchdog = WatchFollowAsync(round);
            try
            {
                var consumer = await _js.CreateOrderedConsumerAsync(_options.Stream, new NatsJSOrderedConsumerOpts
                {
                    DeliverPolicy = ConsumerConfigDeliverPolicy.ByStartSequence,
                    OptStartSeq = Volatile.Read(ref _followFrom),
                }, round.Token).ConfigureAwait(false);
                await foreach (var msg in consumer.ConsumeAsync<byte[]>(cancellationToken: round.Token).ConfigureAwait(false))
                {
                    if (msg.Metadata is not { } metadata)
                        continue;
                    var sequence = metadata.Sequence.Stream;
                    if (sequence < _followFrom)
                        continue;
                    if (sequence > _followFrom)
                    {
                        // Records were compacted away before this follower read them: applying on would skip them.
                        // Stop here; the replica is rebuilt from the shard's snapshot.
                        Volatile.Write(ref _faulted, true);
                        return;
                    }

                    _onDurable?.Invoke(sequence, [msg.Data ?? []]);
                    Volatile.Write(ref _followFrom, sequence + 1);
                    if (sequence > Volatile.Read(ref _lastSequence))
                        Volatile.Write(ref _lastSequence, sequence);
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (OperationCanceledException)
            {
                // The watchdog saw the consumer stall: a new one, from the next record.
            }
#pragma warning disable CA1031 // a lost connection or a leader change: follow again from the next record
            catch (Exception)
#pragma warning restore CA1031
            {
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(200), _stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
            finally
            {
                await round.CancelAsync().ConfigureAwait(false);
                await watchdog.ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Cancels <paramref name="round"/> when the follower has not advanced for <see cref="JetStreamShardLogOptions.FollowStallTimeout"/>
    /// although the stream holds records past it: a consumer whose server died can wait forever without an error.
    /// </summary>
    private async Task WatchFollowAsync(CancellationTokenSource round)
    {
        var seen = Volatile.Read(ref _followFrom);
        var since = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            while (!round.IsCancellationRequested)
            {
                await Task.Delay(_options.FollowStallTimeout / 3, round.Token).ConfigureAwait(false);
                var next = Volatile.Read(ref _followFrom);
                if (next != seen)
                {
                    (seen, since) = (next, System.Diagnostics.Stopwatch.GetTimestamp());
                    continue;
                }

                if (System.Diagnostics.Stopwatch.GetElapsedTime(since) < _options.FollowStallTimeout)
                    continue;
                try
                {
                    var stream = await _js.GetStreamAsync(_options.Stream, cancellationToken: round.Token).ConfigureAwait(false);
                    if (stream.Info.State.LastSeq >= next)
                    {
                        await round.CancelAsync().ConfigureAwait(false);
                        return;
                    }
                }
#pragma warning disable CA1031 // NATS unreachable (or any failure of the check): the consumer cannot do better now
                catch (Exception ex) when (ex is not OperationCanceledException)
#pragma warning restore CA1031
                {
                }

                since = System.Diagnostics.Stopwatch.GetTimestamp();
            }
        }
        catch (OperationCanceledException)
        {
            // The round ended.
        }
    }

    /// <summary>
    /// Publishes the records one after another (each expecting the previous one's sequence), then reports them
    /// durable. One writer at a time: records of concurrent appenders never interleave.
    /// </summary>
    public async ValueTask<ulong> AppendBatchAsync(IReadOnlyList<ReadOnlyMemory<byte>> records, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 0)
            throw new ArgumentException("nothing to append", nameof(records));
        await _writer.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var first = _lastSequence + 1;
            foreach (var record in records)
                await PublishAsync(record, ct).ConfigureAwait(false);
            _onDurable?.Invoke(first, records);
            return first;
        }
        finally
        {
            _writer.Release();
        }
    }

    private async Task PublishAsync(ReadOnlyMemory<byte> record, CancellationToken ct)
    {
        var expected = _lastSequence;
        var opts = new NatsJSPubOpts { MsgId = $"{_options.WriterId}-{expected + 1}", ExpectedLastSequence = expected };
        var retrying = System.Diagnostics.Stopwatch.StartNew();
        for (var attempt = 1; ; attempt++)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(_options.AckTimeout);
            try
            {
                var ack = await _js.PublishAsync(_options.Subject, record.ToArray(), opts: opts, cancellationToken: timeout.Token).ConfigureAwait(false);
                if (ack.Error is { } error)
                {
                    if (error.ErrCode == WrongLastSequence)
                        throw new ShardLogFencedException(_options.Stream, expected, error.Description ?? "wrong last sequence");
                    throw new NatsJSApiException(error);
                }

                if (ack.Seq != expected + 1)
                    throw new ShardLogFencedException(_options.Stream, expected, $"stored at sequence {ack.Seq}");
                Volatile.Write(ref _lastSequence, ack.Seq);
                Interlocked.Add(ref _appendedBytes, record.Length);
                return;
            }
            catch (Exception e) when (retrying.Elapsed < _options.PublishRetryFor && !ct.IsCancellationRequested && IsTransient(e))
            {
                // No ack (leader election, a dropped connection): the same message id again; JetStream stores it once.
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(1000, 50 * attempt)), ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Records from <paramref name="fromSequence"/> to the stream's last sequence when called, in order, through an
    /// ordered consumer. Synchronous (a shard replays its log while it opens); each record's data is its own array.
    /// </summary>
    public IEnumerable<WalRecord> ReadFrom(ulong fromSequence)
    {
        Refresh();
        var last = _stream.Info.State.LastSeq;
        // Records the reader needs were compacted away: it must start from a snapshot, never skip them.
        if (fromSequence > 0 && fromSequence < FirstSequence && _options.Shared)
            throw new InvalidOperationException($"{_options.Stream}: records {fromSequence} to {FirstSequence - 1} were compacted; start from the shard's snapshot");
        var next = Math.Max(fromSequence, FirstSequence);
        Volatile.Write(ref _followFrom, Math.Max(_followFrom, next));
        if (next > last)
            yield break;
        var consumer = _js.CreateOrderedConsumerAsync(_options.Stream, new NatsJSOrderedConsumerOpts
        {
            DeliverPolicy = ConsumerConfigDeliverPolicy.ByStartSequence,
            OptStartSeq = next,
        }).AsTask().GetAwaiter().GetResult();
        while (next <= last)
        {
            var batch = Fetch(consumer, (int)Math.Min((ulong)_options.ReadBatch, last - next + 1));
            if (batch.Count == 0)
                throw new InvalidOperationException($"{_options.Stream}: records {next}..{last} could not be read");
            foreach (var record in batch)
            {
                if (record.Sequence < next)
                    continue;
                if (record.Sequence > next)
                    throw new InvalidOperationException($"{_options.Stream}: records {next} to {record.Sequence - 1} were compacted while being read; start from the shard's snapshot");
                yield return record;
                next = record.Sequence + 1;
                Volatile.Write(ref _followFrom, next);
            }
        }
    }

    private static List<WalRecord> Fetch(INatsJSConsumer consumer, int count)
    {
        return FetchAsync().GetAwaiter().GetResult();

        async Task<List<WalRecord>> FetchAsync()
        {
            var records = new List<WalRecord>(count);
            await foreach (var msg in consumer.FetchAsync<byte[]>(new NatsJSFetchOpts { MaxMsgs = count, Expires = TimeSpan.FromSeconds(5) }).ConfigureAwait(false))
            {
                if (msg.Metadata is { } metadata)
                    records.Add(new WalRecord(metadata.Sequence.Stream, msg.Data ?? []));
            }

            return records;
        }
    }

    /// <summary>
    /// Purges the records below <paramref name="sequence"/> from the stream. A shared log ignores it: one replica
    /// having flushed its state says nothing of the others, and a new replica replays the log from the start.
    /// </summary>
    public void TruncateBefore(ulong sequence)
    {
        if (sequence <= 1 || _options.Shared)
            return;
        _js.PurgeStreamAsync(_options.Stream, new StreamPurgeRequest { Seq = sequence }).AsTask().GetAwaiter().GetResult();
        Refresh();
    }

    private void Refresh()
    {
        _stream.RefreshAsync().AsTask().GetAwaiter().GetResult();
        Interlocked.Exchange(ref _appendedBytes, 0);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_follow is not null)
        {
            try
            {
                // The follower stops at its next record or within the consumer's own cancellation; never wait forever.
                await _follow.WaitAsync(TimeSpan.FromSeconds(3)).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
            }
        }
        _stop.Dispose();
        _writer.Dispose();
    }
}

/// <summary>Another writer appended to the shard's log: this writer no longer owns it.</summary>
public sealed class ShardLogFencedException : Exception
{
    public ShardLogFencedException(string stream, ulong expectedLast, string reason)
        : base($"{stream}: another writer appended after sequence {expectedLast} ({reason}); this writer is fenced") => Stream = stream;

    public ShardLogFencedException()
    {
        Stream = string.Empty;
    }

    public ShardLogFencedException(string message)
        : base(message) => Stream = string.Empty;

    public ShardLogFencedException(string message, Exception innerException)
        : base(message, innerException) => Stream = string.Empty;

    public string Stream { get; }
}
