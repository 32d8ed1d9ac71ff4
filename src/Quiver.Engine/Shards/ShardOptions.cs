namespace Quiver.Engine.Shards;

/// <summary>How a local shard persists itself.</summary>
public sealed record ShardOptions
{
    /// <summary>Size of one write-ahead-log file before it rolls over.</summary>
    public long WalSegmentBytes { get; init; } = 32L * 1024 * 1024;

    /// <summary>fsync every acknowledged write. Turning it off trades durability for speed (tests, benchmarks).</summary>
    public bool Fsync { get; init; } = true;

    /// <summary>How often applied state is written out so the log tail to replay stays short.</summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Keep the log from the change stream's position on (its cursor in each shard's folder) from the moment the
    /// shard opens, so nothing unpublished is truncated before the publisher starts. Off: the cursor is ignored.
    /// </summary>
    public bool ChangeFeed { get; init; }

    /// <summary>
    /// A pause before applying each logged operation. Fault injection for tests of back-pressure (a slowed apply
    /// path); never read from configuration.
    /// </summary>
    public TimeSpan ApplyDelay { get; init; } = TimeSpan.Zero;
}
