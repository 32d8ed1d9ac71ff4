namespace Quiver.Storage.Wal;

/// <summary>
/// A shard's log: the ordered, durable record of its operations. Sequences start at 1 and are contiguous; an
/// append completes only once the record is durable (fsynced locally, or stored by a replicated log's quorum).
/// The local <see cref="WriteAheadLog"/> implements it, and so does the JetStream log of cluster mode.
/// </summary>
public interface IShardLog : IAsyncDisposable
{
    /// <summary>The lowest sequence still readable.</summary>
    ulong FirstSequence { get; }

    /// <summary>The highest sequence durably stored.</summary>
    ulong LastSequence { get; }

    /// <summary>Bytes the log holds.</summary>
    long SizeBytes { get; }

    /// <summary>
    /// Called once per durability point with the first sequence made durable and the records (in order), before the
    /// appenders are released. Set before the first append.
    /// </summary>
    Action<ulong, IReadOnlyList<ReadOnlyMemory<byte>>>? OnDurable { get; set; }

    /// <summary>Appends one record; returns its sequence once durable.</summary>
    ValueTask<ulong> AppendAsync(ReadOnlyMemory<byte> record, CancellationToken ct = default);

    /// <summary>
    /// Appends records in order; returns the sequence of the last once all are durable. A log with one writer (the
    /// local WAL) gives them contiguous sequences; a log shared by several writers (cluster mode) may interleave
    /// another writer's records between them.
    /// </summary>
    ValueTask<ulong> AppendAllAsync(IReadOnlyList<ReadOnlyMemory<byte>> records, CancellationToken ct = default);

    /// <summary>Records with sequence at least <paramref name="fromSequence"/>, in order, up to the last durable when called.</summary>
    IEnumerable<WalRecord> ReadFrom(ulong fromSequence);

    /// <summary>
    /// A shared log whose follower found records missing (compacted before it read them): the replica fed by it no
    /// longer applies anything and must be rebuilt (from a snapshot). A local log never is.
    /// </summary>
    bool Faulted => false;

    /// <summary>Drops records below <paramref name="sequence"/> (as much as the log's granularity allows).</summary>
    void TruncateBefore(ulong sequence);
}
