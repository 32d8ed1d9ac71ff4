using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Quiver.Engine.Catalog;
using Quiver.Engine.Collections;
using Quiver.Engine.Operations;
using Quiver.Engine.Query;
using Quiver.Engine.Tests.Infrastructure;
using Quiver.Segment.Payloads;
using Quiver.Segment.Points;
using Xunit.Abstractions;

namespace Quiver.Engine.Tests.Collections;

/// <summary>Approximate search through the engine (optimizer-built HNSW segment) against exact brute force.</summary>
public sealed class HnswGloveRecallTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Indexed_glove_slice_reaches_the_recall_floor_and_exact_mode_is_exact()
    {
        const int baseRows = 20_000;
        const int queries = 200;
        var dir = Path.Combine(Datasets.SharedData, "glove-100-angular");
        var vectors = Datasets.ReadFbin(Path.Combine(dir, "base.fbin"), baseRows);
        var queryRows = Datasets.ReadFbin(Path.Combine(dir, "query.fbin"), queries);

        using var temp = new TempDir();
        await using var catalog = CollectionCatalog.Open(new CatalogOptions { StoragePath = temp.Path, Shards = new() { Fsync = false } }, NullLogger.Instance);
        using (var doc = JsonDocument.Parse("""{"vectors":{"size":100,"distance":"Cosine"},"hnsw_config":{"m":16,"ef_construct":100,"max_indexing_threads":1,"full_scan_threshold":10},"optimizers_config":{"indexing_threshold":2000}}"""))
            await catalog.CreateAsync("glove", CollectionConfig.FromCreateRequest(doc.RootElement), default);
        var collection = catalog.Get("glove");
        for (var start = 0; start < baseRows; start += 2000)
        {
            var points = Enumerable.Range(start, 2000)
                .Select(i => new PointWrite(PointId.FromNumber((ulong)i), [new NamedVector(string.Empty, vectors[i])], Payload.Empty))
                .ToArray();
            await collection.ApplyAsync(new UpsertPoints(points), wait: true, default);
        }

        for (var i = 0; i < 1200 && collection.Stats() is { } s && (s.Optimizing || s.OptimizationPending); i++)
            await Task.Delay(50);
        var stats = collection.Stats();
        Assert.Equal(baseRows, stats.PointsCount);
        Assert.True(stats.IndexedVectorsCount >= baseRows * 0.9, $"indexed {stats.IndexedVectorsCount}");

        var norms = vectors.Select(v => Math.Sqrt(v.Sum(x => (double)x * x))).ToArray();
        long approxHits = 0;
        for (var q = 0; q < queries; q++)
        {
            var query = queryRows[q];
            var qn = Math.Sqrt(query.Sum(x => (double)x * x));
            var truth = Enumerable.Range(0, baseRows)
                .Select(i => (Id: (ulong)i, Score: vectors[i].Zip(query, (a, b) => (double)a * b).Sum() / (qn * norms[i])))
                .OrderByDescending(t => t.Score).ThenBy(t => t.Id).Take(10).ToArray();
            var kth = truth[^1].Score;

            var approximate = collection.Search(new SearchRequest(new NearestQuery(query, null), "", null, 10, 0, null, WithPayload.None, WithVector.None, false, HnswEf: 64), default);
            approxHits += approximate.Count(r => r.Score >= kth - 1e-5);
            var exact = collection.Search(new SearchRequest(new NearestQuery(query, null), "", null, 10, 0, null, WithPayload.None, WithVector.None, true), default);
            Assert.Equal(truth.Select(t => t.Score).ToArray(), exact.Select(r => (double)r.Score).ToArray(), new ToleranceComparer(1e-5));
        }

        var recall = approxHits / (10.0 * queries);
        output.WriteLine($"recall@10 at ef=64 over {stats.SegmentsCount} segments: {recall:F4}");
        Assert.True(recall >= 0.97, $"recall@10 {recall:F4}");
    }

    private sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;

        public int GetHashCode(double obj) => 0;
    }
}
