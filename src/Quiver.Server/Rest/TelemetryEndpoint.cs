using System.Diagnostics;
using System.Text.Json;
using Quiver.Engine.Catalog;
using Quiver.Engine.Collections;

namespace Quiver.Server.Rest;

/// <summary>
/// <c>GET /telemetry</c> in the spec's <c>TelemetryData</c> shape: the app and process memory at every level,
/// collection counts at <c>details_level</c> 0, an aggregate per collection at 1, and per collection its config,
/// points, segments, optimizer state and resident bytes by component from 2 on; response counts and durations per
/// endpoint and status at every level.
/// </summary>
internal static class TelemetryEndpoint
{
    public static void MapTelemetryEndpoint(this IEndpointRouteBuilder app, CollectionCatalog catalog, bool jwtRbac, Observability.RequestStatistics requests)
    {
        var id = Guid.NewGuid().ToString();
        var startup = DateTimeOffset.UtcNow;
        var version = typeof(TelemetryEndpoint).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
        app.MapGet("/telemetry", (HttpContext http) => RestHandler.RunAsync(http, false, req =>
        {
            var level = req.QueryInt("details_level", 0) ?? 0;
            _ = req.QueryBool("anonymize");
            _ = req.QueryBool("per_collection");
            req.QueryInt("timeout", 1);
            var collections = catalog.CollectionNames.Select(catalog.TryGet).OfType<Collection>().ToList();
            return ValueTask.FromResult<Action<Utf8JsonWriter>>(w =>
            {
                w.WriteStartObject();
                w.WriteString("id", id);
                w.WriteStartObject("app");
                w.WriteString("name", "quiver");
                w.WriteString("version", version);
                w.WriteBoolean("jwt_rbac", jwtRbac);
                w.WriteString("startup", startup);
                w.WriteEndObject();

                w.WriteStartObject("collections");
                w.WriteNumber("number_of_collections", collections.Count);
                if (level >= 1)
                {
                    w.WriteStartArray("collections");
                    foreach (var collection in collections)
                    {
                        if (level >= 2)
                            WriteCollection(w, collection);
                        else
                            WriteAggregate(w, collection);
                    }

                    w.WriteEndArray();
                }

                w.WriteEndObject();
                requests.WriteTo(w);
                WriteMemory(w);
                w.WriteEndObject();
            });
        }));
    }

    private static void WriteAggregate(Utf8JsonWriter w, Collection collection)
    {
        var stats = collection.Stats();
        w.WriteStartObject();
        w.WriteNumber("vectors", stats.PointsCount);
        w.WriteString("optimizers_status", "ok");
        w.WritePropertyName("params");
        collection.Config.Json["params"]!.WriteTo(w);
        w.WriteEndObject();
    }

    private static void WriteCollection(Utf8JsonWriter w, Collection collection)
    {
        var stats = collection.Stats();
        w.WriteStartObject();
        w.WriteString("id", collection.Name);
        w.WritePropertyName("config");
        collection.Config.Json.WriteTo(w);
        // Quiver's own figures beside the spec's fields: clients ignore what they do not know.
        w.WriteNumber("points_count", stats.PointsCount);
        w.WriteNumber("indexed_vectors_count", stats.IndexedVectorsCount);
        w.WriteNumber("segments_count", stats.SegmentsCount);
        w.WriteNumber("wal_bytes", stats.WalBytes);
        w.WriteString("optimizer", stats.Optimizing ? "running" : stats.OptimizationPending ? "pending" : "idle");
        // One pass over the segments, so the totals are the sums of what each segment reports.
        var segments = collection.Footprint();
        w.WriteStartObject("ram_bytes");
        w.WriteNumber("vectors", segments.Sum(x => x.VectorBytes));
        w.WriteNumber("graph", segments.Sum(x => x.GraphBytes));
        w.WriteNumber("sketch", segments.Sum(x => x.SketchBytes));
        w.WriteNumber("codes", segments.Sum(x => x.CodeBytes));
        w.WriteNumber("payload", segments.Sum(x => x.PayloadBytes));
        w.WriteNumber("total", segments.Sum(x => x.RamBytes));
        w.WriteEndObject();
        var segmentDisk = segments.Sum(x => x.DiskBytes);
        w.WriteStartObject("disk_bytes");
        w.WriteNumber("segments", segmentDisk);
        w.WriteNumber("wal", stats.WalBytes);
        w.WriteNumber("total", segmentDisk + stats.WalBytes);
        w.WriteEndObject();
        w.WriteStartArray("segments");
        foreach (var segment in segments)
        {
            w.WriteStartObject();
            w.WriteNumber("shard", segment.Shard);
            if (segment.Id is { } id)
                w.WriteNumber("id", id);
            else
                w.WriteNull("id");
            w.WriteString("kind", segment.Kind);
            w.WriteNumber("points", segment.Points);
            w.WriteStartObject("ram_bytes");
            w.WriteNumber("vectors", segment.VectorBytes);
            w.WriteNumber("graph", segment.GraphBytes);
            w.WriteNumber("codes", segment.CodeBytes);
            w.WriteNumber("sketch", segment.SketchBytes);
            w.WriteNumber("payload", segment.PayloadBytes);
            w.WriteNumber("total", segment.RamBytes);
            w.WriteEndObject();
            w.WriteNumber("disk_bytes", segment.DiskBytes);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>The spec's MemoryTelemetry from the .NET heap and the process (there is no jemalloc here).</summary>
    private static void WriteMemory(Utf8JsonWriter w)
    {
        var gc = GC.GetGCMemoryInfo();
        using var process = Process.GetCurrentProcess();
        w.WriteStartObject("memory");
        w.WriteNumber("active_bytes", GC.GetTotalMemory(forceFullCollection: false));
        w.WriteNumber("allocated_bytes", gc.HeapSizeBytes);
        w.WriteNumber("metadata_bytes", 0);
        w.WriteNumber("resident_bytes", process.WorkingSet64);
        w.WriteNumber("retained_bytes", gc.FragmentedBytes);
        w.WriteEndObject();
    }
}
