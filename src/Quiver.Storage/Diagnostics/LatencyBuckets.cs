namespace Quiver.Storage.Diagnostics;

/// <summary>Bucket bounds for latencies from 50 µs to 10 s: the defaults start at 5 (seconds) and say nothing about fast calls.</summary>
public static class LatencyBuckets
{
    public static IReadOnlyList<double> Seconds { get; } =
        [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
}
