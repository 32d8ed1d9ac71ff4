namespace Quiver.Storage.Wal;

/// <summary>Settings of a <see cref="WriteAheadLog"/>.</summary>
public sealed record WalOptions
{
    /// <summary>Directory holding the segment files; created if missing. One log per directory.</summary>
    public required string Directory { get; init; }

    /// <summary>A new segment file is started once the active one reaches this size.</summary>
    public long SegmentBytes { get; init; } = 32 * 1024 * 1024;

    /// <summary>
    /// When false the log skips fsync (writes still reach the OS page cache): appends survive a process crash but not a
    /// power loss or kernel crash. Only for tests and throw-away data.
    /// </summary>
    public bool Fsync { get; init; } = true;

    /// <summary>
    /// Sequence of the first record of a log created empty. A store restored from a copy of its state (a snapshot)
    /// continues after the sequence that state covers, so its replay never skips new records as already applied.
    /// </summary>
    public ulong FirstSequence { get; init; } = 1;
}
