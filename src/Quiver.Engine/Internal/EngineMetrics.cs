using System.Diagnostics;
using System.Diagnostics.Metrics;
using Quiver.Storage.Diagnostics;

namespace Quiver.Engine.Internal;

/// <summary>The engine's instruments (meter <c>Quiver.Engine</c>) and spans (activity source <c>Quiver.Engine</c>).</summary>
internal static class EngineMetrics
{
    public static readonly Meter Meter = new("Quiver.Engine");

    /// <summary>Spans for searches and optimizer runs; tracing subscribes by the source's name.</summary>
    public static readonly ActivitySource Activities = new("Quiver.Engine");

    /// <summary>Engine time of each nearest-neighbour search, by collection (not counting HTTP or JSON).</summary>
    public static readonly Histogram<double> SearchDuration = Meter.CreateHistogram(
        "quiver.search.duration",
        unit: "s",
        description: "Duration of searches inside the engine, by collection.",
        tags: null,
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets.Seconds });
}
