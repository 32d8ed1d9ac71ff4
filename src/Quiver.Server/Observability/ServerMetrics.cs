using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using Quiver.Engine.Catalog;

namespace Quiver.Server.Observability;

/// <summary>
/// <c>GET /metrics</c> (Prometheus text format, OpenTelemetry's exporter): HTTP requests by route, method and
/// status (ASP.NET Core's own meters), .NET runtime and process metrics, the engine's search and WAL fsync
/// latencies, and per-collection gauges read from the catalog at each scrape. Names are listed in docs/operations.md.
/// </summary>
internal static class ServerMetrics
{
    /// <summary>The meters exported: ASP.NET Core's, the runtime's, and Quiver's layers.</summary>
    private static readonly string[] Meters =
        ["Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Runtime", "Quiver.Engine", "Quiver.Storage", "Quiver.Server", "Quiver.Ingest"];

    public static IServiceCollection AddQuiverMetrics(this IServiceCollection services)
    {
        services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(Meters).AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0));
        return services;
    }

    /// <summary>Maps the scrape endpoint; the per-collection gauges are published once, for the process's catalog.</summary>
    public static void MapMetricsEndpoint(this IEndpointRouteBuilder app) => app.MapPrometheusScrapingEndpoint("/metrics");

    /// <summary>
    /// Gauges over every collection of <paramref name="catalog"/>, computed when a scrape reads them. The meter lives
    /// as long as the returned handle.
    /// </summary>
    public static Meter PublishCollectionGauges(CollectionCatalog catalog)
    {
        var meter = new Meter("Quiver.Server");
        meter.CreateObservableGauge("quiver.collection.points", () => PerCollection(catalog, c => c.Stats().PointsCount), "{point}", "Points stored, by collection.");
        meter.CreateObservableGauge("quiver.collection.indexed_vectors", () => PerCollection(catalog, c => c.Stats().IndexedVectorsCount), "{vector}", "Vectors covered by an HNSW graph, by collection.");
        meter.CreateObservableGauge("quiver.collection.segments", () => PerCollection(catalog, c => c.Stats().SegmentsCount), "{segment}", "Segments, by collection.");
        meter.CreateObservableGauge("quiver.collection.wal.size", () => PerCollection(catalog, c => c.Stats().WalBytes), "By", "Bytes of write-ahead log not yet folded into a flushed state, by collection.");
        meter.CreateObservableGauge("quiver.collection.optimizer.running", () => PerCollection(catalog, c => c.Optimizations().Count), "{optimization}", "Optimizations running, by collection.");
        meter.CreateObservableGauge("quiver.collection.optimizer.pending", () => PerCollection(catalog, c => c.Stats().OptimizationPending ? 1L : 0L), "{collection}", "1 when an optimization is waiting to run, by collection.");
        meter.CreateObservableGauge("quiver.collection.memory", () => Memory(catalog), "By", "Resident bytes by collection and component (vectors, graph, sketch).");
        return meter;
    }

    private static IEnumerable<Measurement<long>> PerCollection(CollectionCatalog catalog, Func<Engine.Collections.Collection, long> read)
    {
        var measurements = new List<Measurement<long>>();
        foreach (var name in catalog.CollectionNames)
        {
            // A collection deleted between listing and reading is simply left out of this scrape.
            if (catalog.TryGet(name) is { } collection)
                measurements.Add(new Measurement<long>(read(collection), new KeyValuePair<string, object?>("collection", name)));
        }

        return measurements;
    }

    private static IEnumerable<Measurement<long>> Memory(CollectionCatalog catalog)
    {
        var measurements = new List<Measurement<long>>();
        foreach (var name in catalog.CollectionNames)
        {
            if (catalog.TryGet(name) is not { } collection)
                continue;
            var memory = collection.Memory();
            measurements.Add(Tagged(memory.VectorBytes, name, "vectors"));
            measurements.Add(Tagged(memory.GraphBytes, name, "graph"));
            measurements.Add(Tagged(memory.SketchBytes, name, "sketch"));
            measurements.Add(Tagged(memory.CodeBytes, name, "codes"));
        }

        return measurements;
    }

    private static Measurement<long> Tagged(long value, string collection, string component) =>
        new(value, new KeyValuePair<string, object?>("collection", collection), new KeyValuePair<string, object?>("component", component));
}
