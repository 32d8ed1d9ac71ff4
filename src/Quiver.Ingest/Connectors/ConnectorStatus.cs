using System.Text.Json;

namespace Quiver.Ingest.Connectors;

/// <summary>What a connector is doing.</summary>
public enum ConnectorState
{
    Starting,
    Running,

    /// <summary>Paused over the API; nothing is read until it is resumed.</summary>
    Paused,

    /// <summary>Not reading because the target collection is behind (apply queue or optimizer backlog).</summary>
    BackPressure,

    /// <summary>A write failed in a way that may pass; it is being retried and nothing is committed meanwhile.</summary>
    Retrying,

    /// <summary>The source failed (unreachable, misconfigured); the connector restarts itself with backoff.</summary>
    Failed,
    Stopped,
}

/// <summary>Live counters of one connector; written by its loop, read by the API and metrics.</summary>
public sealed class ConnectorStatus
{
    private long _consumed;
    private long _applied;
    private long _deadLettered;
    private long _retries;
    private long _batches;
    private long _backPressurePauses;
    private long _lag = -1;
    private long _lastBatchMicros;
    private int _state = (int)ConnectorState.Starting;
    private volatile string? _lastError;
    private volatile string? _position;
    private volatile string? _partitions;

    public ConnectorState State
    {
        get => (ConnectorState)Volatile.Read(ref _state);
        internal set => Volatile.Write(ref _state, (int)value);
    }

    public long Consumed => Interlocked.Read(ref _consumed);

    public long Applied => Interlocked.Read(ref _applied);

    public long DeadLettered => Interlocked.Read(ref _deadLettered);

    public long Retries => Interlocked.Read(ref _retries);

    public long Batches => Interlocked.Read(ref _batches);

    public long BackPressurePauses => Interlocked.Read(ref _backPressurePauses);

    /// <summary>Events in the source not yet committed by this connector; -1 until known.</summary>
    public long Lag
    {
        get => Interlocked.Read(ref _lag);
        internal set => Interlocked.Exchange(ref _lag, value);
    }

    public string? LastError
    {
        get => _lastError;
        internal set => _lastError = value;
    }

    /// <summary>The last committed source position (stream sequence, or partition offsets).</summary>
    public string? Position
    {
        get => _position;
        internal set => _position = value;
    }

    /// <summary>The Kafka partitions this server holds in its group, ascending; null for NATS.</summary>
    public string? Partitions
    {
        get => _partitions;
        internal set => _partitions = value;
    }

    internal void AddConsumed(long n) => Interlocked.Add(ref _consumed, n);

    internal void AddApplied(long n) => Interlocked.Add(ref _applied, n);

    internal void AddDeadLettered(long n) => Interlocked.Add(ref _deadLettered, n);

    internal void AddRetry() => Interlocked.Increment(ref _retries);

    internal void AddBackPressurePause() => Interlocked.Increment(ref _backPressurePauses);

    internal void BatchDone(TimeSpan elapsed)
    {
        Interlocked.Increment(ref _batches);
        Interlocked.Exchange(ref _lastBatchMicros, (long)(elapsed.TotalMilliseconds * 1000));
    }

    public void WriteJson(Utf8JsonWriter w)
    {
        w.WriteString("state", State switch
        {
            ConnectorState.BackPressure => "back_pressure",
            var s => s.ToString().ToLowerInvariant(),
        });
        w.WriteNumber("consumed", Consumed);
        w.WriteNumber("applied", Applied);
        w.WriteNumber("dead_lettered", DeadLettered);
        w.WriteNumber("retries", Retries);
        w.WriteNumber("batches", Batches);
        w.WriteNumber("back_pressure_pauses", BackPressurePauses);
        if (Lag >= 0)
            w.WriteNumber("lag", Lag);
        else
            w.WriteNull("lag");
        w.WriteNumber("last_batch_ms", Interlocked.Read(ref _lastBatchMicros) / 1000.0);
        w.WriteString("position", Position);
        if (Partitions is not null)
            w.WriteString("partitions", Partitions);
        w.WriteString("last_error", LastError);
    }
}
