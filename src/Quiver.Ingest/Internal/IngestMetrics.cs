using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Quiver.Ingest.Internal;

/// <summary>The connectors' instruments (meter <c>Quiver.Ingest</c>) and spans (activity source <c>Quiver.Ingest</c>).</summary>
internal static class IngestMetrics
{
    public static readonly Meter Meter = new("Quiver.Ingest");

    /// <summary>One span per written batch, linked to the trace context each event carried in its headers.</summary>
    public static readonly ActivitySource Activities = new("Quiver.Ingest");

    public static readonly Counter<long> Consumed = Meter.CreateCounter<long>("quiver.connector.events.consumed", description: "Events read from the source, by connector.");

    public static readonly Counter<long> Applied = Meter.CreateCounter<long>("quiver.connector.events.applied", description: "Events written durably to the collection, by connector.");

    public static readonly Counter<long> DeadLettered = Meter.CreateCounter<long>("quiver.connector.events.dead_lettered", description: "Events sent to the dead-letter destination, by connector.");

    public static readonly Counter<long> ChangesPublished = Meter.CreateCounter<long>("quiver.change_stream.published", description: "Change messages published and acknowledged.");

    public static readonly Histogram<double> BatchDuration = Meter.CreateHistogram(
        "quiver.connector.batch.duration",
        unit: "s",
        description: "Time from reading a batch to committing it at the source, by connector.",
        tags: null,
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
}
