using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Quiver.Engine.Catalog;
using Quiver.Engine.Collections;
using Quiver.Engine.Operations;
using Quiver.Segment.Payloads;
using Quiver.Segment.Points;

namespace Quiver.Cli.Bench;

/// <summary>Loads a dataset into an in-process collection the way a user would: through the engine's write path.</summary>
internal static class BenchCollection
{
    /// <summary>
    /// Creates <paramref name="name"/> with the given hnsw_config and indexing threshold (0, the default, turns
    /// indexing off: bulk-load practice), uploads the base vectors (with label/bucket payloads and their indexes
    /// when <paramref name="labels"/>), and returns it.
    /// </summary>
    public static async Task<Collection> CreateAndLoadAsync(
        CollectionCatalog catalog, string name, Dataset data, JsonObject hnswConfig, bool labels, int indexingThresholdKb = 0, JsonObject? quantization = null, bool vectorsOnDisk = false, string datatype = "float32")
    {
        var create = new JsonObject
        {
            ["vectors"] = new JsonObject { ["size"] = data.Dim, ["distance"] = data.Metric == "angular" ? "Cosine" : "Euclid", ["on_disk"] = vectorsOnDisk, ["datatype"] = datatype },
            ["hnsw_config"] = hnswConfig,
            ["optimizers_config"] = new JsonObject { ["indexing_threshold"] = indexingThresholdKb },
        };
        if (quantization is not null)
            create["quantization_config"] = quantization;
        using (var doc = JsonDocument.Parse(create.ToJsonString()))
            await catalog.CreateAsync(name, CollectionConfig.FromCreateRequest(doc.RootElement), default);
        var collection = catalog.Get(name);
        if (labels)
        {
            await collection.ApplyAsync(new CreateFieldIndex("label", "\"integer\""u8.ToArray()), wait: true, default);
            await collection.ApplyAsync(new CreateFieldIndex("bucket", "\"integer\""u8.ToArray()), wait: true, default);
        }

        const int batch = 1000;
        for (var start = 0; start < data.Base.Length; start += batch)
        {
            var points = new PointWrite[Math.Min(batch, data.Base.Length - start)];
            for (var i = 0; i < points.Length; i++)
            {
                var row = start + i;
                var payload = labels
                    ? Payload.FromUtf8(Encoding.UTF8.GetBytes($$"""{"label":{{data.BaseLabels![row]}},"bucket":{{row % 10}}}"""))
                    : Payload.Empty;
                points[i] = new PointWrite(PointId.FromNumber((ulong)row), [new NamedVector(string.Empty, data.Base[row])], payload);
            }

            await collection.ApplyAsync(new UpsertPoints(points), wait: true, default);
            if ((start / batch) % 20 == 0)
                Console.Error.WriteLine($"bench: uploaded {start + points.Length:N0}/{data.Base.Length:N0}");
        }

        return collection;
    }

    /// <summary>Waits until the collection's optimizer has nothing running or pending (at most 10 minutes).</summary>
    public static async Task WaitIdleAsync(Collection collection)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (collection.Stats() is { } stats && (stats.Optimizing || stats.OptimizationPending))
        {
            if (clock.Elapsed > TimeSpan.FromMinutes(10))
                throw new TimeoutException("the optimizer was still busy after 10 minutes");
            await Task.Delay(20);
        }
    }

    /// <summary>
    /// Turns indexing on (PATCH optimizers_config.indexing_threshold) and waits until the optimizer is done.
    /// Returns how long it took until the index served every point (the rebuilt segment is swapped in before its
    /// files are written) and until the optimizer was done, files included.
    /// </summary>
    public static async Task<(TimeSpan Serving, TimeSpan Done)> IndexAsync(CollectionCatalog catalog, string name, Collection collection, int thresholdKb)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using (var patch = JsonDocument.Parse($$$"""{"optimizers_config":{"indexing_threshold":{{{thresholdKb}}}}}"""))
            await catalog.UpdateAsync(name, patch.RootElement, default);
        var lastReport = System.Diagnostics.Stopwatch.StartNew();
        TimeSpan? serving = null;
        while (true)
        {
            var stats = collection.Stats();
            if (serving is null && stats.PointsCount > 0 && stats.IndexedVectorsCount >= stats.PointsCount)
                serving = clock.Elapsed;
            if (!stats.Optimizing && !stats.OptimizationPending && stats.IndexedVectorsCount > 0)
                return (serving ?? clock.Elapsed, clock.Elapsed);
            if (lastReport.Elapsed > TimeSpan.FromSeconds(5))
            {
                var running = collection.Optimizations();
                var progress = running.Count > 0 ? $"{running.Sum(r => r.PointsDone):N0}/{running.Sum(r => r.PointsTotal):N0}" : "starting";
                Console.Error.WriteLine($"bench: indexing {progress}");
                lastReport.Restart();
            }

            await Task.Delay(5);
        }
    }
}
