using System.Runtime.CompilerServices;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Quiver.Engine.Catalog;
using Quiver.Engine.Collections;
using Quiver.Ingest.Connectors;
using Quiver.Ingest.Internal;

namespace Quiver.Ingest.ChangeStream;

/// <summary>
/// Publishes every applied operation of every collection, per shard in log order, to NATS JetStream or Kafka. It
/// reads the shards' logs from each one's published position (kept in the shard's folder), publishes, waits for the
/// acknowledgements, and only then moves the position on: at-least-once, resuming after a restart from the last
/// published version. The shard keeps its log from that position until it is published.
/// </summary>
public sealed class ChangeStreamPublisher : IAsyncDisposable
{
    private readonly CollectionCatalog _catalog;
    private readonly ChangeStreamOptions _options;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    // Per shard (keyed by the collection object, so a re-created collection starts afresh): failures and when to retry.
    private readonly ConditionalWeakTable<Collection, (int Failures, long RetryAt)[]> _backoff = [];
    private readonly System.Diagnostics.Metrics.Meter _meter = new("Quiver.Ingest");
    private Task? _run;
    private long _published;

    public ChangeStreamPublisher(CollectionCatalog catalog, ChangeStreamOptions options, ILogger logger)
    {
        _catalog = catalog;
        _options = options;
        _logger = logger;
        _meter.CreateObservableGauge("quiver.change_stream.backlog", () => _catalog.CollectionNames
            .Select(name => _catalog.TryGet(name))
            .Where(c => c is not null)
            .Select(c => new System.Diagnostics.Metrics.Measurement<long>(Backlog(c!), new KeyValuePair<string, object?>("collection", c!.Name))),
            description: "Applied operations the change stream has not published yet.");
    }

    private static long Backlog(Collection collection)
    {
        try
        {
            return collection.ChangeFeedBacklog();
        }
        catch (ObjectDisposedException)
        {
            return 0;
        }
    }

    public long Published => Interlocked.Read(ref _published);

    public string? LastError { get; private set; }

    public void Start() => _run ??= Task.Run(() => RunGuardedAsync(_stopping.Token));

    private async Task RunGuardedAsync(CancellationToken cancellationToken)
    {
        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await using var sink = await OpenSinkAsync(cancellationToken).ConfigureAwait(false);
                while (!cancellationToken.IsCancellationRequested)
                {
                    if (await PublishRoundAsync(sink, cancellationToken).ConfigureAwait(false))
                        failures = 0;
                    else
                        await Task.Delay(10, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
#pragma warning disable CA1031 // Any failure is retried from the last published position: nothing is skipped.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                failures++;
                LastError = ex.Message;
                var delay = (int)Math.Min(5000, 100 * Math.Pow(2, Math.Min(failures, 10)));
                IngestLog.ChangeStreamFailed(_logger, ex, delay);
                try
                {
                    await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
    }

    /// <summary>
    /// One pass over every shard of every collection; true when anything was published. A shard whose publish
    /// fails (its subject refused, the broker slow) backs off alone, so one collection never holds up the others.
    /// </summary>
    private async Task<bool> PublishRoundAsync(IChangeSink sink, CancellationToken cancellationToken)
    {
        var any = false;
        var messages = new List<ChangeMessage>();
        foreach (var name in _catalog.CollectionNames)
        {
            if (_catalog.TryGet(name) is not { } collection)
                continue;
            var backoff = _backoff.GetValue(collection, c => new (int, long)[c.ShardCount]);
            for (var shard = 0; shard < backoff.Length; shard++)
            {
                if (backoff[shard].RetryAt > Environment.TickCount64)
                    continue;
                try
                {
                    if (collection.ChangeFeedCursor(shard) is not { } cursor)
                        continue;
                    var operations = collection.ReadAppliedOperations(shard, cursor.Published, _options.MaxBatch, MaxBatchBytes);
                    if (operations.Count == 0)
                        continue;
                    if (operations[0].Sequence != cursor.Published + 1)
                        IngestLog.ChangeStreamGap(_logger, collection.Name, shard, cursor.Published + 1, operations[0].Sequence - 1);
                    messages.Clear();
                    foreach (var (sequence, operation) in operations)
                        ChangeMessages.Expand(collection.Name, shard, cursor.Incarnation, sequence, operation, messages);
                    await sink.PublishAsync(messages, cancellationToken).ConfigureAwait(false);
                    collection.AdvanceChangeFeed(shard, operations[^1].Sequence);
                    backoff[shard] = default;
                    Interlocked.Add(ref _published, messages.Count);
                    IngestMetrics.ChangesPublished.Add(messages.Count);
                    any = true;
                }
                catch (Exception ex) when (ex is ObjectDisposedException or DirectoryNotFoundException or FileNotFoundException)
                {
                    break; // the collection was deleted meanwhile
                }
                catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is not OperationCanceledException)
                {
                    var failures = backoff[shard].Failures + 1;
                    var delay = (int)Math.Min(30_000, 100 * Math.Pow(2, Math.Min(failures, 10)));
                    backoff[shard] = (failures, Environment.TickCount64 + delay);
                    LastError = $"{collection.Name}/{shard}: {ex.Message}";
                    IngestLog.ChangeStreamShardFailed(_logger, ex, collection.Name, shard, delay);
                }
            }
        }

        return any;
    }

    /// <summary>About this many bytes of log records are published per shard in one round.</summary>
    private const long MaxBatchBytes = 8L * 1024 * 1024;

    private async Task<IChangeSink> OpenSinkAsync(CancellationToken cancellationToken) => _options.Kind == ConnectorKind.Nats
        ? await NatsChangeSink.OpenAsync(_options, cancellationToken).ConfigureAwait(false)
        : new KafkaChangeSink(_options);

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_run is { } run)
            await run.ConfigureAwait(false);
        _stopping.Dispose();
        _meter.Dispose();
    }

    private interface IChangeSink : IAsyncDisposable
    {
        /// <summary>Publishes in order and returns once every message is acknowledged.</summary>
        Task PublishAsync(List<ChangeMessage> messages, CancellationToken cancellationToken);
    }

    /// <summary>JetStream, subject <c>{prefix}.{collection}</c>, with a message id per change so retries are deduplicated.</summary>
    private sealed class NatsChangeSink(NatsConnection connection, NatsJSContext js, string prefix) : IChangeSink
    {
        public static async Task<NatsChangeSink> OpenAsync(ChangeStreamOptions options, CancellationToken cancellationToken)
        {
            var connection = new NatsConnection(new NatsOpts { Url = options.NatsUrl, Name = "quiver-change-stream" });
            try
            {
                await connection.ConnectAsync().ConfigureAwait(false);
                var js = new NatsJSContext(connection);
                var found = false;
                await foreach (var _ in js.ListStreamNamesAsync($"{options.SubjectPrefix}.x", cancellationToken).ConfigureAwait(false))
                    found = true;
                if (!found)
                    await js.CreateOrUpdateStreamAsync(new StreamConfig("QUIVER_CHANGES", [$"{options.SubjectPrefix}.>"]), cancellationToken).ConfigureAwait(false);
                return new NatsChangeSink(connection, js, options.SubjectPrefix);
            }
            catch
            {
                await connection.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }

        public async Task PublishAsync(List<ChangeMessage> messages, CancellationToken cancellationToken)
        {
            // In chunks, so a large batch never has more than a bounded number of publishes in flight.
            for (var start = 0; start < messages.Count; start += 1024)
            {
                var acks = new Task<PubAckResponse>[Math.Min(1024, messages.Count - start)];
                for (var i = 0; i < acks.Length; i++)
                {
                    var m = messages[start + i];
                    var subject = $"{prefix}.{SubjectToken(m.Collection)}";
                    // The incarnation keeps a re-created collection's changes (its versions start again) from being
                    // taken for repeats of the old one's.
                    var id = $"{m.Collection}/{m.Incarnation:x}/{m.Shard}/{m.Version}/{m.Part}";
                    acks[i] = js.PublishAsync(subject, m.Json, opts: new NatsJSPubOpts { MsgId = id }, cancellationToken: cancellationToken).AsTask();
                }

                foreach (var ack in acks)
                {
                    var response = await ack.ConfigureAwait(false);
                    // A repeat (published before a restart, its cursor not yet saved) is already stored: fine.
                    if (!response.Duplicate)
                        response.EnsureSuccess();
                }
            }
        }

        /// <summary>A subject token for a collection name: characters NATS does not allow in one become '_'.</summary>
        private static string SubjectToken(string collection) =>
            string.Create(collection.Length, collection, (span, name) =>
            {
                for (var i = 0; i < span.Length; i++)
                    span[i] = name[i] is '.' or '*' or '>' || char.IsWhiteSpace(name[i]) || char.IsControl(name[i]) ? '_' : name[i];
            });

        public ValueTask DisposeAsync() => connection.DisposeAsync();
    }

    /// <summary>Kafka, one topic, keyed <c>{collection}/{id}</c> so a point's changes stay in order in one partition.</summary>
    private sealed class KafkaChangeSink(ChangeStreamOptions options) : IChangeSink
    {
        private readonly IProducer<string, byte[]> _producer = new ProducerBuilder<string, byte[]>(new ProducerConfig
        {
            BootstrapServers = options.KafkaBootstrapServers,
            ClientId = "quiver-change-stream",
            EnableIdempotence = true,
            Acks = Acks.All,
            LingerMs = 2,
        }).Build();

        public async Task PublishAsync(List<ChangeMessage> messages, CancellationToken cancellationToken)
        {
            // In chunks, well under librdkafka's local queue limit, so a large batch never fails with a full queue.
            for (var start = 0; start < messages.Count; start += 10_000)
            {
                var acks = new Task[Math.Min(10_000, messages.Count - start)];
                for (var i = 0; i < acks.Length; i++)
                {
                    var m = messages[start + i];
                    // Keyed by shard: a shard's changes stay in one partition, in log order.
                    acks[i] = _producer.ProduceAsync(options.KafkaTopic, new Message<string, byte[]> { Key = $"{m.Collection}/{m.Shard}", Value = m.Json }, cancellationToken);
                }

                await Task.WhenAll(acks).ConfigureAwait(false);
            }
        }

        public ValueTask DisposeAsync()
        {
            _producer.Flush(TimeSpan.FromSeconds(5));
            _producer.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
