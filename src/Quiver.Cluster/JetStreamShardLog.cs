using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
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

    private readonly NatsJSContext _js;
    private readonly JetStreamShardLogOptions _options;
    private readonly SemaphoreSlim _writer = new(1, 1);
    private readonly INatsJSStream _stream;
    private ulong _lastSequence;
    private long _appendedBytes;
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

    public ulong FirstSequence => Math.Max(1, _stream.Info.State.FirstSeq);

    public ulong LastSequence => Volatile.Read(ref _lastSequence);

    /// <summary>Bytes in the stream: as of the last read or truncation, plus the records appended since.</summary>
    public long SizeBytes => (long)_stream.Info.State.Bytes + Interlocked.Read(ref _appendedBytes);

    public Action<ulong, IReadOnlyList<ReadOnlyMemory<byte>>>? OnDurable
    {
        get => _onDurable;
        set => _onDurable = value;
    }

    public async ValueTask<ulong> AppendAsync(ReadOnlyMemory<byte> record, CancellationToken ct = default) =>
        await AppendBatchAsync([record], ct).ConfigureAwait(false);

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
            catch (Exception e) when (attempt < _options.PublishAttempts && !ct.IsCancellationRequested
                && e is OperationCanceledException or NatsNoRespondersException or NatsJSPublishNoResponseException or NatsException and not NatsJSApiException)
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
        var next = Math.Max(fromSequence, FirstSequence);
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
                yield return record;
                next = record.Sequence + 1;
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

    /// <summary>Purges the records below <paramref name="sequence"/> from the stream.</summary>
    public void TruncateBefore(ulong sequence)
    {
        if (sequence <= 1)
            return;
        _js.PurgeStreamAsync(_options.Stream, new StreamPurgeRequest { Seq = sequence }).AsTask().GetAwaiter().GetResult();
        Refresh();
    }

    private void Refresh()
    {
        _stream.RefreshAsync().AsTask().GetAwaiter().GetResult();
        Interlocked.Exchange(ref _appendedBytes, 0);
    }

    public ValueTask DisposeAsync()
    {
        _writer.Dispose();
        return ValueTask.CompletedTask;
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
