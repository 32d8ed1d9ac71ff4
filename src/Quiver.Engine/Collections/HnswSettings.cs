namespace Quiver.Engine.Collections;

/// <summary>
/// A vector space's effective hnsw_config. <paramref name="OnDisk"/>: the graphs of indexed segments stay in their
/// files, memory-mapped (<c>on_disk: true</c>, or <c>memory: "cold"</c>, which overrides it).
/// </summary>
public sealed record HnswSettings(int M, int EfConstruct, int FullScanThresholdKb, int MaxIndexingThreads, bool OnDisk = false);
