using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Quiver.Engine.Catalog;
using Quiver.Ingest.Connectors;
using Quiver.Ingest.Events;
using Quiver.Ingest.Internal;

namespace Quiver.Ingest.Nats;

/// <summary>
/// Reads a JetStream subject with a durable pull consumer (ack policy "all"). A batch is fetched without waiting
/// for more than is there, written durably, its poison events published to the dead-letter subject, and only then
/// its last message acked, which acks everything before it.
/// </summary>
/// <remarks>
/// Order matters, since replaying an older event after a newer one would undo it. JetStream redelivers unacked
/// messages after <c>ack_wait</c>, possibly behind newer ones. The loop keeps two positions: the last stream
/// sequence it handled (a message at or below it is a redelivery of something already written, and is skipped)
/// and the last delivery sequence it received (every delivery, redeliveries included, takes the next one, so a
/// jump means a delivery was lost with a dropped connection). A jump restarts the loop, which re-creates the
/// consumer at the ack floor. Re-reading from the ack floor in order is harmless: each event is applied again in
/// the same order and the final state is the same.
/// </remarks>
internal sealed class NatsSourceConnector(ConnectorDefinition definition, CollectionCatalog catalog, ILogger logger)
    : SourceConnector(definition, catalog, logger)
{
    private NatsSourceOptions Options => Definition.Nats!;

    private protected override async Task RunAsync(CancellationToken cancellationToken)
    {
        await using var connection = new NatsConnection(new NatsOpts { Url = Options.Url, Name = $"quiver-connector-{Definition.Name}" });
        await connection.ConnectAsync().ConfigureAwait(false);
        var js = new NatsJSContext(connection);
        await EnsureDeadLetterStreamAsync(js, cancellationToken).ConfigureAwait(false);
        var (consumer, position) = await OpenConsumerAsync(js, cancellationToken).ConfigureAwait(false);
        // A 0 here could precede the apply of batches written before a restart of this loop: the idle path reports it.
        var initial = (long)consumer.Info.NumPending + consumer.Info.NumAckPending;
        Status.Lag = initial > 0 ? initial : -1;
        MarkRunning();
        var fetch = new NatsJSFetchOpts { MaxMsgs = Definition.MaxBatch };
        var batch = new List<INatsJSMsg<byte[]>>(Definition.MaxBatch);
        while (!cancellationToken.IsCancellationRequested)
        {
            await WaitWhileHeldAsync(cancellationToken).ConfigureAwait(false);
            batch.Clear();
            await foreach (var msg in consumer.FetchNoWaitAsync<byte[]>(fetch, cancellationToken: cancellationToken).ConfigureAwait(false))
                batch.Add(msg);
            if (batch.Count == 0)
            {
                // Idle: wait for one message (a pull for exactly one ends when it arrives, leaving no open request
                // to deliver into), then give the producer a moment to add more.
                var next = await consumer.NextAsync<byte[]>(opts: new NatsJSNextOpts { Expires = TimeSpan.FromSeconds(5) }, cancellationToken: cancellationToken).ConfigureAwait(false);
                if (next is not { } first)
                {
                    // A lag of 0 tells callers the events are searchable: the last batches may still be applying.
                    Status.Lag = await Writer.CatchUpAsync(CatchUpLimit, cancellationToken).ConfigureAwait(false) ? 0 : -1;
                    continue;
                }

                batch.Add(first);
                if (Definition.LingerMs > 0 && Definition.MaxBatch > 1)
                {
                    await Task.Delay(Definition.LingerMs, cancellationToken).ConfigureAwait(false);
                    await foreach (var msg in consumer.FetchNoWaitAsync<byte[]>(fetch with { MaxMsgs = Definition.MaxBatch - 1 }, cancellationToken: cancellationToken).ConfigureAwait(false))
                        batch.Add(msg);
                }
            }

            position = await HandleBatchAsync(js, batch, position, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<Position> HandleBatchAsync(NatsJSContext js, List<INatsJSMsg<byte[]>> batch, Position position, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var fresh = new List<INatsJSMsg<byte[]>>(batch.Count);
        var (lastStream, lastDelivery) = position;
        foreach (var msg in batch)
        {
            var metadata = msg.Metadata ?? throw new InvalidOperationException("a JetStream message without metadata");
            var delivery = metadata.Sequence.Consumer;
            if (delivery > lastDelivery + 1)
                throw new NatsConsumerGapException($"delivery {lastDelivery + 1} is missing (got {delivery}); resuming from the ack floor");
            lastDelivery = Math.Max(lastDelivery, delivery);
            if (metadata.Sequence.Stream <= lastStream)
                continue;
            lastStream = metadata.Sequence.Stream;
            fresh.Add(msg);
        }

        if (fresh.Count == 0)
        {
            // Only redeliveries of handled messages: ack the newest so the server stops resending them.
            await batch[^1].AckAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            return new Position(lastStream, lastDelivery);
        }

        var events = fresh.ConvertAll(m => new SourceEvent(m.Data ?? [], LastToken(m.Subject), Header(m, "traceparent"), Header(m, "tracestate")));
        using var activity = StartBatchActivity(events);
        var outcomes = await Writer.WriteAsync(events, TimeSpan.FromSeconds(Options.AckWaitSec / 2.0), cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < outcomes.Length; i++)
        {
            if (outcomes[i].DeadLetterReason is { } reason)
                await DeadLetterAsync(js, fresh[i], reason, cancellationToken).ConfigureAwait(false);
        }

        // Everything is durable: ack the last one (ack policy "all" covers the rest), and wait for the server to
        // confirm, so a lost ack cannot leave the batch pending behind newer messages.
        var last = fresh[^1];
        await last.AckAsync(new AckOpts { DoubleAck = true }, cancellationToken).ConfigureAwait(false);
        Status.Position = last.Metadata!.Value.Sequence.Stream.ToString(CultureInfo.InvariantCulture);
        var pending = (long)last.Metadata!.Value.NumPending;
        Record(fresh.Count, outcomes, Stopwatch.GetElapsedTime(started));
        if (pending == 0 && !await Writer.CatchUpAsync(CatchUpLimit, cancellationToken).ConfigureAwait(false))
            pending = -1;
        Status.Lag = pending;
        return new Position(lastStream, lastDelivery);
    }

    private async Task DeadLetterAsync(NatsJSContext js, INatsJSMsg<byte[]> msg, string reason, CancellationToken cancellationToken)
    {
        IngestLog.DeadLettered(Logger, Definition.Name, reason);
        var headers = new NatsHeaders
        {
            ["Quiver-Reason"] = HeaderValue(reason),
            ["Quiver-Connector"] = Definition.Name,
            ["Quiver-Source-Stream"] = Options.Stream,
            ["Quiver-Source-Subject"] = msg.Subject,
            ["Quiver-Source-Sequence"] = msg.Metadata!.Value.Sequence.Stream.ToString(CultureInfo.InvariantCulture),
        };
        var ack = await js.PublishAsync(Definition.DeadLetterSubject, msg.Data ?? [], headers: headers, cancellationToken: cancellationToken).ConfigureAwait(false);
        ack.EnsureSuccess();
    }

    /// <summary>
    /// Opens the durable consumer. A consumer with messages delivered but not acked (the process died mid-batch)
    /// is re-created at its ack floor, so those messages come again first and in order, not after newer ones.
    /// </summary>
    private async Task<(INatsJSConsumer Consumer, Position Position)> OpenConsumerAsync(NatsJSContext js, CancellationToken cancellationToken)
    {
        INatsJSConsumer? existing = null;
        try
        {
            existing = await js.GetConsumerAsync(Options.Stream, Definition.DurableName, cancellationToken).ConfigureAwait(false);
        }
        catch (NatsJSApiException ex) when (ex.Error.Code == 404)
        {
        }

        ulong startAfter = 0;
        if (existing is not null)
        {
            var info = existing.Info;
            if (info.NumAckPending == 0 && info.Config.FilterSubject == Options.Subject && info.Config.AckPolicy == ConsumerConfigAckPolicy.All)
            {
                IngestLog.Resuming(Logger, Definition.Name, Definition.DurableName, info.AckFloor.StreamSeq);
                return (existing, new Position(info.AckFloor.StreamSeq, info.Delivered.ConsumerSeq));
            }

            startAfter = info.AckFloor.StreamSeq;
            await js.DeleteConsumerAsync(Options.Stream, Definition.DurableName, cancellationToken).ConfigureAwait(false);
        }

        var config = new ConsumerConfig(Definition.DurableName)
        {
            AckPolicy = ConsumerConfigAckPolicy.All,
            FilterSubject = Options.Subject,
            AckWait = TimeSpan.FromSeconds(Options.AckWaitSec),
            MaxAckPending = Math.Max(1000, Definition.MaxBatch * 4),
            DeliverPolicy = startAfter > 0 ? ConsumerConfigDeliverPolicy.ByStartSequence : ConsumerConfigDeliverPolicy.All,
        };
        if (startAfter > 0)
            config.OptStartSeq = startAfter + 1;
        var consumer = await js.CreateOrUpdateConsumerAsync(Options.Stream, config, cancellationToken).ConfigureAwait(false);
        IngestLog.Resuming(Logger, Definition.Name, Definition.DurableName, startAfter);
        return (consumer, new Position(startAfter, 0));
    }

    /// <summary>Dead letters are published to JetStream; when no stream holds their subject, one is made for it.</summary>
    private async Task EnsureDeadLetterStreamAsync(NatsJSContext js, CancellationToken cancellationToken)
    {
        await foreach (var _ in js.ListStreamNamesAsync(Definition.DeadLetterSubject, cancellationToken).ConfigureAwait(false))
            return;
        var name = $"QUIVER_DEAD_LETTER_{Definition.Name.ToUpperInvariant()}";
        await js.CreateOrUpdateStreamAsync(new StreamConfig(name, [Definition.DeadLetterSubject]), cancellationToken).ConfigureAwait(false);
    }

    private static string? LastToken(string subject)
    {
        var dot = subject.LastIndexOf('.');
        return dot < 0 ? subject : subject[(dot + 1)..];
    }

    private static string? Header(INatsJSMsg<byte[]> msg, string name) =>
        msg.Headers is { } headers && headers.TryGetValue(name, out var values) ? values.ToString() : null;

    /// <summary>The last stream sequence written, and the last delivery sequence received.</summary>
    private readonly record struct Position(ulong Stream, ulong Delivery);

    private sealed class NatsConsumerGapException(string message) : Exception(message);
}
