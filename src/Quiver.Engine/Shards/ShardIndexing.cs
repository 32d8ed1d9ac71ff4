using Quiver.Index.Hnsw;

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

    /// <summary>HNSW links per node for spaces without their own setting in <see cref="Spaces"/>.</summary>
    public int M { get; init; } = 16;

    /// <summary>Build beam width for spaces without their own setting in <see cref="Spaces"/>.</summary>
    public int EfConstruct { get; init; } = 100;

    /// <summary>Per vector space (in the shard's order): its hnsw_config, the collection's merged with the vector's own.</summary>
    public IReadOnlyList<SpaceGraphSettings> Spaces { get; init; } = [];

    /// <summary>The graph settings of a space.</summary>
    public SpaceGraphSettings Space(int space) => space < Spaces.Count ? Spaces[space] : new SpaceGraphSettings(M, EfConstruct, OnDisk: false, PayloadM: 0, FullScanThresholdKb, Quantization: null);

    /// <summary>True when some space gets a graph of its own (m of 2 or more), so an appendable segment is indexed live.</summary>
    public bool AnyGraph => Spaces.Count == 0 ? M >= 2 : Spaces.Any(s => s.M >= 2);

    /// <summary>Index build threads; 0 picks all cores but one, so queries keep a core.</summary>
    public int MaxIndexingThreads { get; init; }

    /// <summary>Below this many vectors (KB) an exact scan beats the graph.</summary>
    public long FullScanThresholdKb { get; init; } = 10_000;

    /// <summary>Share of deleted points above which an indexed segment is rebuilt without them.</summary>
    public double DeletedThreshold { get; init; } = 0.2;

    public int VacuumMinVectorNumber { get; init; } = 1000;

    /// <summary>Whether indexed segments leave their payloads in their points file, mapped (on_disk_payload).</summary>
    public bool PayloadsOnDisk { get; init; }

    /// <summary>Whether indexed segments keep this space's graph memory-mapped from its file.</summary>
    public bool GraphOnDisk(int space) => Space(space).OnDisk;

    /// <summary>Whether indexed segments keep this space's vectors memory-mapped from their file (on_disk vectors).</summary>
    public bool VectorsOnDisk(int space) => Space(space).VectorsOnDisk;

    /// <summary>
    /// Whether indexed segments of this space go without a projection sketch: its vectors are on disk and its codes
    /// in memory, and a sketch (a quarter of the codes' size for wide vectors) would only speed up exact scans at the
    /// cost of the memory on_disk is chosen to save.
    /// </summary>
    public bool SketchLeftOut(int space) => Space(space) is { VectorsOnDisk: true, Quantization: not null };

    /// <summary>The build options of a space's graph.</summary>
    public HnswBuildOptions BuildOptions(int space, bool background)
    {
        var settings = Space(space);
        return new HnswBuildOptions { M = settings.M, EfConstruct = settings.EfConstruct, Threads = BuildThreads, Background = background };
    }

    public int BuildThreads => MaxIndexingThreads > 0 ? MaxIndexingThreads : Math.Max(1, Environment.ProcessorCount - 1);
}

/// <summary>
/// One vector space's HNSW settings: <paramref name="M"/> below 2 means no graph (searched exactly);
/// <paramref name="PayloadM"/> of 2 or more gives sealed segments a graph per indexed payload value held by more
/// points than <paramref name="FullScanThresholdKb"/> of this space's vectors (fewer are scanned exactly).
/// <paramref name="Quantization"/>: scalar codes built with each indexed segment's graph and walked instead of the
/// vectors (null: none). <paramref name="VectorsOnDisk"/>: indexed segments serve this space's rows from their mapped
/// vector file rather than memory.
/// </summary>
internal sealed record SpaceGraphSettings(int M, int EfConstruct, bool OnDisk, int PayloadM, long FullScanThresholdKb, Collections.QuantizationSettings? Quantization, bool VectorsOnDisk = false);
