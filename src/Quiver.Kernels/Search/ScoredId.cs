namespace Quiver.Kernels;

/// <summary>A segment-local id with its score (higher is closer).</summary>
public readonly record struct ScoredId(int Id, float Score);
