using Microsoft.Extensions.Logging;
using Quiver.Engine.Catalog;
using Quiver.Engine.Operations;
using Quiver.Ingest.Connectors;
using Quiver.Ingest.Internal;
using Quiver.Segment.Errors;

namespace Quiver.Ingest.Events;

/// <summary>
/// Writes a batch of events to the connector's collection, durably, in order. Events that can never be written
/// (unparseable, wrong shape, failed validation) are singled out for the dead-letter destination while the rest
/// are written; writes that may pass later are retried with exponential backoff. It returns only once every
/// event is either in the collection's log or marked for dead-lettering, so the source may then commit.
/// </summary>
internal sealed class EventWriter(CollectionCatalog catalog, ConnectorDefinition definition, ConnectorStatus status, ILogger logger)
{
    /// <summary>
    /// Waits up to <paramref name="limit"/> until everything written so far is applied, so searches see it: writes
    /// go to the log without waiting for that, and a lag of 0 promises callers the events are searchable. Returns
    /// false when the limit passed first (the caller keeps reading, and tries again later); true without the
    /// collection (nothing to wait for).
    /// </summary>
    public async ValueTask<bool> CatchUpAsync(TimeSpan limit, CancellationToken cancellationToken)
    {
        if (catalog.TryGet(definition.Collection) is not { } collection)
            return true;
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(limit);
        try
        {
            await collection.CatchUpAsync(bounded.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <param name="giveUpAfter">
    /// How long a write may keep failing before the caller's loop is restarted (a <see cref="TimeoutException"/>):
    /// kept under the source's own deadline (Kafka's poll interval, JetStream's ack wait), so a connector never
    /// writes a batch the source has meanwhile handed to someone else.
    /// </param>
    public async ValueTask<EventOutcome[]> WriteAsync(IReadOnlyList<SourceEvent> events, TimeSpan giveUpAfter, CancellationToken cancellationToken)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var outcomes = new EventOutcome[events.Count];
        var pending = new List<(int Index, PointOperation Operation)>(events.Count);
        for (var i = 0; i < events.Count; i++)
        {
            if (EventDecoder.TryDecode(events[i].Data.Span, events[i].Key, definition.IdFrom, out var operation, out var error))
                pending.Add((i, operation!));
            else
                outcomes[i] = new EventOutcome(error);
        }

        var attempt = 0;
        var refusedAfterCatchUp = false;
        while (pending.Count > 0)
        {
            try
            {
                var collection = catalog.TryGet(definition.Collection)
                    ?? throw new MissingCollectionException($"collection `{definition.Collection}` does not exist");
                try
                {
                    await collection.ApplyBatchAsync([.. pending.Select(p => p.Operation)], wait: false, cancellationToken).ConfigureAwait(false);
                    pending.Clear();
                }
                catch (QuiverException ex) when (ex.Error.Kind is ErrorKind.BadInput or ErrorKind.NotFound)
                {
                    // Checks read applied state: an event may be refused only because the batch before it is logged
                    // but not yet applied (a set_payload after its upsert). Catch up, then find the poison.
                    await collection.CatchUpAsync(cancellationToken).ConfigureAwait(false);
                    var errors = collection.CheckEach([.. pending.Select(p => p.Operation)]);
                    if (errors.Any(e => e is not null))
                    {
                        for (var i = 0; i < errors.Length; i++)
                        {
                            if (errors[i] is { } refusal)
                                outcomes[pending[i].Index] = new EventOutcome(refusal.Message);
                        }

                        pending = [.. pending.Where((_, i) => errors[i] is null)];
                    }
                    else if (refusedAfterCatchUp)
                    {
                        // Refused again though each passes alone (a concurrent writer changes things): one by one,
                        // so the batch makes progress whatever happens.
                        await WriteOneByOneAsync(collection, pending, outcomes, cancellationToken).ConfigureAwait(false);
                    }

                    refusedAfterCatchUp = true;
                    continue;
                }

                if (status.State == ConnectorState.Retrying)
                    status.State = ConnectorState.Running;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && IsRetryable(ex))
            {
                attempt++;
                status.LastError = ex.Message;
                // A missing collection may be created yet, but not forever: after the bounded retries its events
                // are dead-lettered so the source keeps flowing. Any other failure (disk, engine) is retried without
                // end and nothing is committed meanwhile: nothing is lost, and the lag shows it.
                if (ex is MissingCollectionException && attempt >= definition.RetryMaxAttempts)
                {
                    foreach (var (index, _) in pending)
                        outcomes[index] = new EventOutcome($"{ex.Message} (after {attempt} attempts)");
                    pending.Clear();
                    break;
                }

                if (System.Diagnostics.Stopwatch.GetElapsedTime(started) > giveUpAfter)
                    throw new TimeoutException($"writing a batch kept failing for {giveUpAfter.TotalSeconds:F0} s: {ex.Message}", ex);
                // Never sleep past the deadline either: the source's own clock is running.
                var delay = (int)Math.Min(Backoff(attempt), Math.Max(1, (giveUpAfter - System.Diagnostics.Stopwatch.GetElapsedTime(started)).TotalMilliseconds));
                status.State = ConnectorState.Retrying;
                status.AddRetry();
                IngestLog.Retrying(logger, definition.Name, attempt, delay, ex.Message);
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            }
        }

        return outcomes;
    }

    private static async ValueTask WriteOneByOneAsync(Engine.Collections.Collection collection, List<(int Index, PointOperation Operation)> pending, EventOutcome[] outcomes, CancellationToken cancellationToken)
    {
        foreach (var (index, operation) in pending)
        {
            try
            {
                // Applied before the next is checked, since checks (a point exists) read applied state.
                await collection.ApplyAsync(operation, wait: true, cancellationToken).ConfigureAwait(false);
            }
            catch (QuiverException one) when (one.Error.Kind is ErrorKind.BadInput or ErrorKind.NotFound)
            {
                outcomes[index] = new EventOutcome(one.Message);
            }
        }

        pending.Clear();
    }

    /// <summary>Exponential backoff with jitter, capped.</summary>
    public int Backoff(int attempt)
    {
        var exponential = definition.RetryInitialBackoffMs * Math.Pow(2, Math.Min(attempt - 1, 20));
        var capped = Math.Min(exponential, definition.RetryMaxBackoffMs);
        return (int)Math.Max(1, capped * (0.8 + (0.4 * Random.Shared.NextDouble())));
    }

    // Cancellation (shutdown) and bugs propagate; everything else is an outside condition that may pass.
    private static bool IsRetryable(Exception ex) =>
        ex is not OperationCanceledException and not ObjectDisposedException and not ArgumentException and not NullReferenceException and not InvalidCastException;

    private sealed class MissingCollectionException(string message) : Exception(message);
}
