namespace Quiver.Engine.Collections;

/// <summary>
/// A vector space's effective hnsw_config. <paramref name="OnDisk"/>: the graphs of indexed segments stay in their
/// files, memory-mapped (<c>on_disk: true</c>, or <c>memory: "cold"</c>, which overrides it). <paramref name="PayloadM"/>:
/// links per node of the graphs over each indexed payload value (<c>payload_m</c>; 0 when unset: none are built).
/// </summary>
public sealed record HnswSettings(int M, int EfConstruct, int FullScanThresholdKb, int MaxIndexingThreads, bool OnDisk = false, int PayloadM = 0);
