using System.Diagnostics.Metrics;
using Quiver.Storage.Diagnostics;

namespace Quiver.Storage.Internal;

/// <summary>The storage layer's instruments (meter <c>Quiver.Storage</c>); exporters subscribe by the meter's name.</summary>
internal static class StorageMetrics
{
    public static readonly Meter Meter = new("Quiver.Storage");

    /// <summary>Time of each write-ahead-log fsync: it bounds how fast acknowledged writes can be.</summary>
    public static readonly Histogram<double> FsyncDuration = Meter.CreateHistogram(
        "quiver.wal.fsync.duration",
        unit: "s",
        description: "Duration of write-ahead log fsyncs.",
        tags: null,
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets.Seconds });
}
