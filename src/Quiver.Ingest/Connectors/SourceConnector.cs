using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Quiver.Engine.Catalog;
using Quiver.Ingest.Events;
using Quiver.Ingest.Internal;

namespace Quiver.Ingest.Connectors;

/// <summary>
/// One running connector: a loop that reads batches from its source, writes them through <see cref="EventWriter"/>,
/// dead-letters poison events and commits the source position only after all of that is durable. A failing source
/// restarts the loop with backoff; the loop resumes from the last committed position.
/// </summary>
public abstract class SourceConnector : IAsyncDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private Task? _run;
    private volatile bool _userPaused;
    private bool _backPressured;
    private int _failures;

    private protected SourceConnector(ConnectorDefinition definition, CollectionCatalog catalog, ILogger logger)
    {
        Definition = definition;
        Catalog = catalog;
        Logger = logger;
        Writer = new EventWriter(catalog, definition, Status, logger);
    }

    public ConnectorDefinition Definition { get; }

    public ConnectorStatus Status { get; } = new();

    private protected CollectionCatalog Catalog { get; }

    private protected ILogger Logger { get; }

    private protected EventWriter Writer { get; }

    /// <summary>How long a connector waits for its writes to apply before it reports a lag of 0.</summary>
    private protected static readonly TimeSpan CatchUpLimit = TimeSpan.FromSeconds(2);

    public bool UserPaused => _userPaused;

    public void Start() => _run ??= Task.Run(() => RunGuardedAsync(_stopping.Token));

    /// <summary>Stops reading after the batch in hand; the source keeps the rest.</summary>
    public void Pause()
    {
        _userPaused = true;
        Status.State = ConnectorState.Paused;
    }

    public void Resume() => _userPaused = false;

    /// <summary>Reads, writes and commits until cancelled.</summary>
    private protected abstract Task RunAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Whether reading should stop for now: paused over the API, or the target collection is behind. Back-pressure
    /// has hysteresis: it starts above the bound and ends once the apply queue is under half of it.
    /// </summary>
    private protected bool ShouldHold()
    {
        if (_userPaused)
        {
            Status.State = ConnectorState.Paused;
            return true;
        }

        var backlog = Catalog.TryGet(Definition.Collection)?.Backlog();
        if (backlog is { } b)
        {
            var applyLimit = _backPressured ? Definition.MaxApplyBacklog / 2 : Definition.MaxApplyBacklog;
            var hold = b.ApplyOperations > applyLimit || b.UnindexedPoints > Definition.MaxUnindexedPoints;
            if (hold && !_backPressured)
            {
                Status.AddBackPressurePause();
                IngestLog.BackPressure(Logger, Definition.Name, b.ApplyOperations, b.UnindexedPoints);
            }

            _backPressured = hold;
            if (hold)
            {
                Status.State = ConnectorState.BackPressure;
                return true;
            }
        }

        if (Status.State is ConnectorState.Paused or ConnectorState.BackPressure)
            Status.State = ConnectorState.Running;
        return false;
    }

    /// <summary>Called by a source once it is connected and reading.</summary>
    private protected void MarkRunning()
    {
        if (Status.State is ConnectorState.Starting or ConnectorState.Failed)
            Status.State = ConnectorState.Running;
    }

    /// <summary>Waits while <see cref="ShouldHold"/> says so (for sources that need no polling while held).</summary>
    private protected async ValueTask WaitWhileHeldAsync(CancellationToken cancellationToken)
    {
        while (ShouldHold())
            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
    }

    private protected void Record(int consumed, EventOutcome[] outcomes, TimeSpan elapsed)
    {
        // A batch went through: the next failure starts the restart backoff from its shortest delay again.
        Volatile.Write(ref _failures, 0);
        var dead = outcomes.Count(o => !o.Applied);
        var tag = new KeyValuePair<string, object?>("connector", Definition.Name);
        Status.AddConsumed(consumed);
        Status.AddApplied(outcomes.Length - dead);
        Status.AddDeadLettered(dead);
        Status.BatchDone(elapsed);
        IngestMetrics.Consumed.Add(consumed, tag);
        IngestMetrics.Applied.Add(outcomes.Length - dead, tag);
        if (dead > 0)
            IngestMetrics.DeadLettered.Add(dead, tag);
        IngestMetrics.BatchDuration.Record(elapsed.TotalSeconds, tag);
    }

    /// <summary>
    /// A span for one batch, from reading to committing (log entries written meanwhile carry its trace id). It
    /// continues the producer's trace when every event carries the same one (a <c>traceparent</c> header), and
    /// otherwise links to each event's trace context.
    /// </summary>
    private protected Activity? StartBatchActivity(IReadOnlyList<SourceEvent> events)
    {
        if (!IngestMetrics.Activities.HasListeners())
            return null;
        List<ActivityLink>? links = null;
        foreach (var e in events)
        {
            if (e.TraceParent is { } parent && ActivityContext.TryParse(parent, e.TraceState, out var context))
                (links ??= []).Add(new ActivityLink(context));
        }

        var single = links is { Count: > 0 } && links.Count == events.Count && links.All(l => l.Context.TraceId == links[0].Context.TraceId) ? links[0].Context : default;
        var activity = IngestMetrics.Activities.StartActivity(ActivityKind.Consumer, single, name: $"connector {Definition.Name} batch", links: links,
            tags: [new("quiver.connector", Definition.Name), new("quiver.collection", Definition.Collection)]);
        activity?.SetTag("quiver.connector.events", events.Count);
        return activity;
    }

    /// <summary>A header value on one line, bounded, as NATS and Kafka headers expect.</summary>
    private protected static string HeaderValue(string text)
    {
        var line = text.Replace('\r', ' ').Replace('\n', ' ');
        return line.Length <= 1024 ? line : line[..1024];
    }

    private async Task RunGuardedAsync(CancellationToken cancellationToken)
    {
        IngestLog.Started(Logger, Definition.Name, Definition.Kind.ToString().ToLowerInvariant(), Definition.Collection);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                // Unknown until the source says again: a stale 0 would read as caught up.
                Status.Lag = -1;
                await RunAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
#pragma warning disable CA1031 // Any source failure restarts the loop from the committed position.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                var delay = Writer.Backoff(Interlocked.Increment(ref _failures));
                Status.State = ConnectorState.Failed;
                Status.LastError = ex.Message;
                IngestLog.Failed(Logger, ex, Definition.Name, delay);
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

        Status.State = ConnectorState.Stopped;
        IngestLog.Stopped(Logger, Definition.Name);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_run is { } run)
            await run.ConfigureAwait(false);
        _stopping.Dispose();
        GC.SuppressFinalize(this);
    }
}
