namespace Quiver.Segment.Segments;

/// <summary>
/// How a segment searches: graph beam width, forced exact scan, the point count below which an exact scan wins, and
/// how quantized codes are used where a segment has them.
/// </summary>
public readonly record struct SegmentSearchParams(int Ef, bool Exact, int FullScanThreshold, QuantizationSearch Quantization = default)
{
    public static SegmentSearchParams ExactScan { get; } = new(0, true, 0);
}

/// <summary>
/// The search params' <c>quantization</c>: <paramref name="Ignore"/> walks the full vectors even where codes exist;
/// otherwise the walk scores codes and keeps <c>limit · oversampling</c> candidates, which
/// <paramref name="Rescore"/> (the default when unset) scores again with the full vectors before the best
/// <c>limit</c> are returned. An <paramref name="Oversampling"/> of 0 (unset) means 1.
/// </summary>
public readonly record struct QuantizationSearch(bool Ignore, bool? Rescore, double Oversampling)
{
    /// <summary>Candidates the walk keeps for <paramref name="k"/> results.</summary>
    public int Candidates(int k) => Oversampling > 1 ? (int)Math.Min(int.MaxValue, Math.Ceiling(k * Oversampling)) : k;
}
