using System.Diagnostics;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Quiver.Engine.Catalog;
using Quiver.Ingest.Connectors;
using Quiver.Ingest.Events;
using Quiver.Ingest.Internal;

namespace Quiver.Ingest.Kafka;

/// <summary>
/// Reads a Kafka topic in a consumer group. Offsets are committed by hand, per partition, only after the batch is
/// in the collection's log and its poison events are in the dead-letter topic; a crash or a rebalance re-delivers
/// from the committed offsets, in partition order, which replays the same events in the same order.
/// </summary>
internal sealed class KafkaSourceConnector(ConnectorDefinition definition, CollectionCatalog catalog, ILogger logger)
    : SourceConnector(definition, catalog, logger)
{
    private static readonly TimeSpan MaxPollInterval = TimeSpan.FromMinutes(5);

    private KafkaSourceOptions Options => Definition.Kafka!;

    private protected override async Task RunAsync(CancellationToken cancellationToken)
    {
        var batch = new List<ConsumeResult<string?, byte[]>>(Definition.MaxBatch);
        var config = new ConsumerConfig
        {
            BootstrapServers = Options.BootstrapServers,
            GroupId = Definition.GroupId,
            ClientId = $"quiver-connector-{Definition.Name}",
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            AutoOffsetReset = Options.AutoOffsetReset == "latest" ? AutoOffsetReset.Latest : AutoOffsetReset.Earliest,
            EnablePartitionEof = false,
            // A member that does not poll for this long is dropped from the group; a write that keeps failing is
            // abandoned well before (see WriteTimeout), so no batch is written after its partition moved on.
            MaxPollIntervalMs = (int)MaxPollInterval.TotalMilliseconds,
        };
        using var consumer = new ConsumerBuilder<string?, byte[]>(config)
            .SetKeyDeserializer(Deserializers.Utf8)
            .SetPartitionsAssignedHandler((_, partitions) =>
            {
                Status.Partitions = Describe(partitions);
                IngestLog.Partitions(Logger, Definition.Name, "assigned", Status.Partitions);
            })
            .SetPartitionsRevokedHandler((_, partitions) =>
            {
                // Everything handled is already committed; events gathered but not written are left to the next
                // owner, which starts at the committed offsets.
                Status.Partitions = string.Empty;
                IngestLog.Partitions(Logger, Definition.Name, "revoked", Describe(partitions.Select(p => p.TopicPartition)));
                batch.RemoveAll(r => partitions.Any(p => p.TopicPartition == r.TopicPartition));
            })
            .SetPartitionsLostHandler((_, partitions) =>
            {
                Status.Partitions = string.Empty;
                IngestLog.Partitions(Logger, Definition.Name, "lost", Describe(partitions.Select(p => p.TopicPartition)));
                batch.RemoveAll(r => partitions.Any(p => p.TopicPartition == r.TopicPartition));
            })
            .Build();
        using var producer = new ProducerBuilder<string?, byte[]>(new ProducerConfig
        {
            BootstrapServers = Options.BootstrapServers,
            ClientId = $"quiver-dead-letter-{Definition.Name}",
            EnableIdempotence = true,
            Acks = Acks.All,
        }).SetKeySerializer(Serializers.Utf8).Build();
        consumer.Subscribe(Options.Topic);
        MarkRunning();
        var lagUpdated = 0L;
        try
        {
            var paused = false;
            while (!cancellationToken.IsCancellationRequested)
            {
                if (ShouldHold())
                {
                    // Keep polling while paused: it keeps the group membership alive and runs rebalances. Partitions
                    // assigned meanwhile are not paused yet and may yield a message: put it back, so nothing is skipped.
                    consumer.Pause(consumer.Assignment);
                    paused = true;
                    if (consumer.Consume(TimeSpan.FromMilliseconds(50)) is { } early)
                    {
                        consumer.Pause([early.TopicPartition]);
                        consumer.Seek(early.TopicPartitionOffset);
                    }

                    continue;
                }

                if (paused)
                {
                    consumer.Resume(consumer.Assignment);
                    paused = false;
                }

                batch.Clear();
                if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is not { } first)
                {
                    // Idle: ask the brokers (a few round trips, so not on every batch); this is what tells a caller
                    // waiting on the lag that the connector caught up.
                    if (Status.Lag < 0 || Environment.TickCount64 - lagUpdated > 2000)
                    {
                        var lag = CommittedLag(consumer);
                        // A lag of 0 tells callers the events are searchable: the last batches are logged, and may
                        // still be applying. The wait is short, so polling goes on; until applied the lag is unknown.
                        if (lag == 0 && !await Writer.CatchUpAsync(CatchUpLimit, cancellationToken).ConfigureAwait(false))
                            lag = -1;
                        Status.Lag = lag;
                        lagUpdated = Environment.TickCount64;
                    }

                    continue;
                }
                batch.Add(first);
                var deadline = Stopwatch.GetTimestamp() + (Definition.LingerMs * Stopwatch.Frequency / 1000);
                while (batch.Count < Definition.MaxBatch)
                {
                    var left = Math.Max(0, (deadline - Stopwatch.GetTimestamp()) * 1000 / Stopwatch.Frequency);
                    if (consumer.Consume(TimeSpan.FromMilliseconds(left)) is not { } next)
                        break;
                    batch.Add(next);
                }

                if (batch.Count > 0)
                    await HandleBatchAsync(consumer, producer, batch, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            consumer.Close();
        }
    }

    private async Task HandleBatchAsync(IConsumer<string?, byte[]> consumer, IProducer<string?, byte[]> producer, List<ConsumeResult<string?, byte[]>> batch, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var events = batch.ConvertAll(r => new SourceEvent(r.Message.Value ?? [], r.Message.Key, Header(r, "traceparent"), Header(r, "tracestate")));
        using var activity = StartBatchActivity(events);
        var outcomes = await Writer.WriteAsync(events, MaxPollInterval / 3, cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < outcomes.Length; i++)
        {
            if (outcomes[i].DeadLetterReason is { } reason)
                await DeadLetterAsync(producer, batch[i], reason, cancellationToken).ConfigureAwait(false);
        }

        var commits = batch.GroupBy(r => r.TopicPartition)
            .Select(g => new TopicPartitionOffset(g.Key, new Offset(g.Max(r => r.Offset.Value) + 1)))
            .ToList();
        try
        {
            consumer.Commit(commits);
        }
        catch (KafkaException ex) when (ex.Error.Code is ErrorCode.RebalanceInProgress or ErrorCode.IllegalGeneration or ErrorCode.UnknownMemberId)
        {
            // The batch is written; the group is moving partitions. Whoever holds them next starts at the last
            // committed offsets and writes these events again, in order, which changes nothing.
            Status.LastError = ex.Message;
            IngestLog.CommitSkipped(Logger, Definition.Name, ex.Error.Reason);
            Record(batch.Count, outcomes, Stopwatch.GetElapsedTime(started));
            return;
        }

        Status.Position = string.Join(',', commits.Select(c => $"{c.Partition.Value}:{c.Offset.Value}"));
        // Cached watermarks can be behind the brokers: a 0 from them is only a guess, so it is reported as unknown
        // until the idle path has asked the brokers.
        var cached = CachedLag(consumer);
        Status.Lag = cached > 0 ? cached : -1;
        Record(batch.Count, outcomes, Stopwatch.GetElapsedTime(started));
    }

    private async Task DeadLetterAsync(IProducer<string?, byte[]> producer, ConsumeResult<string?, byte[]> source, string reason, CancellationToken cancellationToken)
    {
        IngestLog.DeadLettered(Logger, Definition.Name, reason);
        var headers = new Headers
        {
            { "quiver-reason", Encoding.UTF8.GetBytes(HeaderValue(reason)) },
            { "quiver-connector", Encoding.UTF8.GetBytes(Definition.Name) },
            { "quiver-source-topic", Encoding.UTF8.GetBytes(source.Topic) },
            { "quiver-source-partition", Encoding.UTF8.GetBytes(source.Partition.Value.ToString(CultureInfo.InvariantCulture)) },
            { "quiver-source-offset", Encoding.UTF8.GetBytes(source.Offset.Value.ToString(CultureInfo.InvariantCulture)) },
        };
        var message = new Message<string?, byte[]> { Key = source.Message.Key, Value = source.Message.Value ?? [], Headers = headers };
        // Bounded like a write: a dead-letter topic that cannot be reached restarts the loop (nothing is committed,
        // so the batch comes again) rather than holding the partition past the poll interval.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(MaxPollInterval / 3);
        try
        {
            await producer.ProduceAsync(Definition.DeadLetterTopic, message, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"the dead-letter topic {Definition.DeadLetterTopic} took no message for {(MaxPollInterval / 3).TotalSeconds:F0} s");
        }
    }

    /// <summary>After a batch: from the client's cached watermarks and positions, without a round trip.</summary>
    private static long CachedLag(IConsumer<string?, byte[]> consumer)
    {
        long lag = 0;
        foreach (var partition in consumer.Assignment)
        {
            var high = consumer.GetWatermarkOffsets(partition).High;
            var position = consumer.Position(partition);
            if (high == Offset.Unset || position == Offset.Unset)
                return -1;
            lag += Math.Max(0, high.Value - position.Value);
        }

        return lag;
    }

    /// <summary>
    /// Events in this server's partitions past the group's committed offsets, asked of the brokers (cached
    /// watermarks are unknown for a partition nothing was read from since it was assigned).
    /// </summary>
    private static long CommittedLag(IConsumer<string?, byte[]> consumer)
    {
        var assignment = consumer.Assignment;
        // Nothing assigned yet (joining, or a rebalance): nothing is known about the lag.
        if (assignment.Count == 0)
            return -1;
        try
        {
            var committed = consumer.Committed(assignment, TimeSpan.FromSeconds(5));
            long lag = 0;
            foreach (var c in committed)
            {
                var marks = consumer.QueryWatermarkOffsets(c.TopicPartition, TimeSpan.FromSeconds(5));
                var from = c.Offset == Offset.Unset ? marks.Low.Value : c.Offset.Value;
                lag += Math.Max(0, marks.High.Value - from);
            }

            return lag;
        }
        catch (KafkaException)
        {
            // A slow or rebalancing group: the lag is unknown for now, which is no reason to stop reading.
            return -1;
        }
    }

    private static string? Header(ConsumeResult<string?, byte[]> result, string name) =>
        result.Message.Headers?.TryGetLastBytes(name, out var bytes) == true ? Encoding.UTF8.GetString(bytes) : null;

    private static string Describe(IEnumerable<TopicPartition> partitions) =>
        string.Join(',', partitions.Select(p => p.Partition.Value).Order().Select(p => p.ToString(CultureInfo.InvariantCulture)));
}
