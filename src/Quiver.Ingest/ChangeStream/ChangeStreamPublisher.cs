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
    // Keyed by the collection object, so a collection deleted and created again starts from its own position.
    private readonly ConditionalWeakTable<Collection, ulong[]> _cursors = [];
    private Task? _run;
    private long _published;

    public ChangeStreamPublisher(CollectionCatalog catalog, ChangeStreamOptions options, ILogger logger)
    {
        _catalog = catalog;
        _options = options;
        _logger = logger;
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
                failures = 0;
                while (!cancellationToken.IsCancellationRequested)
                {
                    if (!await PublishRoundAsync(sink, cancellationToken).ConfigureAwait(false))
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

    /// <summary>One pass over every shard of every collection; true when anything was published.</summary>
    private async Task<bool> PublishRoundAsync(IChangeSink sink, CancellationToken cancellationToken)
    {
        var any = false;
        var messages = new List<ChangeMessage>();
        foreach (var name in _catalog.CollectionNames)
        {
            if (_catalog.TryGet(name) is not { } collection)
                continue;
            ulong[] cursors;
            try
            {
                cursors = _cursors.GetValue(collection, c => [.. Enumerable.Range(0, c.ShardCount).Select(c.ChangeFeedCursor)]);
            }
            catch (ObjectDisposedException)
            {
                continue;
            }

            for (var shard = 0; shard < cursors.Length; shard++)
            {
                IReadOnlyList<(ulong Sequence, Engine.Operations.PointOperation Operation)> operations;
                try
                {
                    operations = collection.ReadAppliedOperations(shard, cursors[shard], _options.MaxBatch);
                }
                catch (Exception ex) when (ex is ObjectDisposedException or DirectoryNotFoundException or FileNotFoundException)
                {
                    break; // deleted meanwhile
                }

                if (operations.Count == 0)
                    continue;
                if (operations[0].Sequence != cursors[shard] + 1)
                    IngestLog.ChangeStreamGap(_logger, collection.Name, shard, cursors[shard] + 1, operations[0].Sequence - 1);
                messages.Clear();
                foreach (var (sequence, operation) in operations)
                    ChangeMessages.Expand(collection.Name, shard, sequence, operation, messages);
                await sink.PublishAsync(messages, cancellationToken).ConfigureAwait(false);
                var last = operations[^1].Sequence;
                try
                {
                    collection.AdvanceChangeFeed(shard, last);
                }
                catch (Exception ex) when (ex is ObjectDisposedException or DirectoryNotFoundException)
                {
                    break;
                }

                cursors[shard] = last;
                Interlocked.Add(ref _published, messages.Count);
                IngestMetrics.ChangesPublished.Add(messages.Count);
                any = true;
            }
        }

        return any;
    }

    private async Task<IChangeSink> OpenSinkAsync(CancellationToken cancellationToken) => _options.Kind == ConnectorKind.Nats
        ? await NatsChangeSink.OpenAsync(_options, cancellationToken).ConfigureAwait(false)
        : new KafkaChangeSink(_options);

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_run is { } run)
            await run.ConfigureAwait(false);
        _stopping.Dispose();
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
            var acks = new Task<PubAckResponse>[messages.Count];
            for (var i = 0; i < messages.Count; i++)
            {
                var m = messages[i];
                var subject = $"{prefix}.{SubjectToken(m.Collection)}";
                acks[i] = js.PublishAsync(subject, m.Json, opts: new NatsJSPubOpts { MsgId = $"{m.Collection}/{m.Shard}/{m.Version}/{m.Part}" }, cancellationToken: cancellationToken).AsTask();
            }

            foreach (var ack in acks)
                (await ack.ConfigureAwait(false)).EnsureSuccess();
        }

        private static string SubjectToken(string collection) =>
            string.Create(collection.Length, collection, (span, name) =>
            {
                for (var i = 0; i < span.Length; i++)
                    span[i] = name[i] is '.' or '*' or '>' or ' ' ? '_' : name[i];
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
            var acks = new Task[messages.Count];
            for (var i = 0; i < messages.Count; i++)
            {
                var m = messages[i];
                var key = $"{m.Collection}/{(m.Id is { } id ? id.ToString() : "*")}";
                acks[i] = _producer.ProduceAsync(options.KafkaTopic, new Message<string, byte[]> { Key = key, Value = m.Json }, cancellationToken);
            }

            await Task.WhenAll(acks).ConfigureAwait(false);
        }

        public ValueTask DisposeAsync()
        {
            _producer.Flush(TimeSpan.FromSeconds(5));
            _producer.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
