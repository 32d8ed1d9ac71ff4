namespace Quiver.Engine.Shards;

/// <summary>
/// When and how a shard indexes and cleans its segments, from the collection's hnsw_config and optimizer_config.
/// </summary>
internal sealed record ShardIndexing
{
    /// <summary>Appendable vectors (KB, summed over spaces) above which the segment is sealed and indexed; 0 disables.</summary>
    public long IndexingThresholdKb { get; init; } = 10_000;

    /// <summary>
    /// Vectors (KB) an appendable segment indexed live may hold before it is sealed and rebuilt as one immutable
    /// indexed segment (optimizers_config.max_segment_size; unset means <see cref="DefaultMaxSegmentSizeKb"/>).
    /// </summary>
    public long MaxSegmentSizeKb { get; init; } = DefaultMaxSegmentSizeKb;

    public const long DefaultMaxSegmentSizeKb = 200_000;

    /// <summary>Indexed segments a shard keeps before merging the smallest (optimizers_config.default_segment_number; 0 = one per core).</summary>
    public int DefaultSegmentNumber { get; init; }

    public int TargetSegments => DefaultSegmentNumber > 0 ? DefaultSegmentNumber : Math.Max(2, Environment.ProcessorCount);

    public int M { get; init; } = 16;

    public int EfConstruct { get; init; } = 100;

    /// <summary>Index build threads; 0 picks all cores but one, so queries keep a core.</summary>
    public int MaxIndexingThreads { get; init; }

    /// <summary>Below this many vectors (KB) an exact scan beats the graph.</summary>
    public long FullScanThresholdKb { get; init; } = 10_000;

    /// <summary>Share of deleted points above which an indexed segment is rebuilt without them.</summary>
    public double DeletedThreshold { get; init; } = 0.2;

    public int VacuumMinVectorNumber { get; init; } = 1000;

    /// <summary>Per vector space (in the shard's order): keep indexed segments' graphs memory-mapped from their files.</summary>
    public IReadOnlyList<bool> GraphsOnDisk { get; init; } = [];

    public bool GraphOnDisk(int space) => space < GraphsOnDisk.Count && GraphsOnDisk[space];

    public int BuildThreads => MaxIndexingThreads > 0 ? MaxIndexingThreads : Math.Max(1, Environment.ProcessorCount - 1);
}
