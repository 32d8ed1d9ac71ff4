namespace Quiver.Segment.Segments;

/// <summary>How a segment searches: graph beam width, forced exact scan, and the point count below which an exact scan wins.</summary>
public readonly record struct SegmentSearchParams(int Ef, bool Exact, int FullScanThreshold)
{
    public static SegmentSearchParams ExactScan { get; } = new(0, true, 0);
}
