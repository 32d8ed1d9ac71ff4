namespace Quiver.Engine.Collections;

/// <summary>A vector space's effective hnsw_config.</summary>
public sealed record HnswSettings(int M, int EfConstruct, int FullScanThresholdKb, int MaxIndexingThreads);
