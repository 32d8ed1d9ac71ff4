namespace Quiver.Segment.Points;

/// <summary>One dense vector of a point, under its vector name ("" for the unnamed vector).</summary>
public readonly record struct NamedVector(string Name, float[] Values);
