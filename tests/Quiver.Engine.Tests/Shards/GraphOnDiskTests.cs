using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Quiver.Engine.Catalog;
using Quiver.Engine.Collections;
using Quiver.Engine.Operations;
using Quiver.Engine.Query;
using Quiver.Engine.Tests.Infrastructure;
using Quiver.Segment.Payloads;
using Quiver.Segment.Points;

namespace Quiver.Engine.Tests.Shards;

/// <summary>
/// hnsw_config.on_disk: indexed segments' graphs are read from their memory-mapped files, not held in memory, and
/// answer the same; after a restart they are mapped again.
/// </summary>
public sealed class GraphOnDiskTests : IDisposable
{
    private const int Dim = 8;
    private readonly TempDir _temp = new();

    public void Dispose() => _temp.Dispose();

    private async Task<(CollectionCatalog Catalog, Collection Collection)> OpenAsync(bool create, string hnsw)
    {
        var catalog = CollectionCatalog.Open(new CatalogOptions { StoragePath = _temp.Path, Shards = new() { Fsync = false } }, NullLogger.Instance);
        if (create)
        {
            using var doc = JsonDocument.Parse($$$"""{"vectors":{"size":{{{Dim}}},"distance":"Euclid"},"optimizers_config":{"indexing_threshold":0},"hnsw_config":{{{hnsw}}}}""");
            await catalog.CreateAsync("c", CollectionConfig.FromCreateRequest(doc.RootElement), default);
        }

        return (catalog, catalog.Get("c"));
    }

    [Theory]
    [InlineData("""{"m":8,"ef_construct":64,"full_scan_threshold":1,"on_disk":true}""")]
    [InlineData("""{"m":8,"ef_construct":64,"full_scan_threshold":1,"memory":"cold"}""")]
    public async Task Graphs_on_disk_are_mapped_not_held_and_answer_as_in_memory(string hnsw)
    {
        var random = new Random(31);
        var model = new Dictionary<ulong, float[]>();
        var (catalog, collection) = await OpenAsync(create: true, hnsw);
        try
        {
            // Loaded with indexing off, then switched on: the segment is far over the threshold, so it is sealed and
            // built in one go (a segment indexed live keeps its graph in memory: it still changes).
            for (var batch = 0; batch < 4; batch++)
            {
                var writes = new List<PointWrite>();
                for (var i = 0; i < 500; i++)
                {
                    var id = (ulong)((batch * 500) + i);
                    model[id] = [.. Enumerable.Range(0, Dim).Select(_ => (float)random.NextDouble())];
                    writes.Add(new PointWrite(PointId.FromNumber(id), [new NamedVector("", model[id])], Payload.Empty));
                }

                await collection.ApplyAsync(new UpsertPoints([.. writes]), wait: true, default);
            }

            using (var patch = JsonDocument.Parse("""{"optimizers_config":{"indexing_threshold":1}}"""))
                await catalog.UpdateAsync("c", patch.RootElement, default);
            await Optimizer.WaitIndexedAsync(collection);

            AssertMapped(collection, model.Count);
            AssertRecall(collection, model, random);

            await catalog.DisposeAsync();
            (catalog, collection) = await OpenAsync(create: false, hnsw);
            await Optimizer.WaitIndexedAsync(collection);
            AssertMapped(collection, model.Count);
            AssertRecall(collection, model, random);
        }
        finally
        {
            await catalog.DisposeAsync();
        }
    }

    [Fact]
    public async Task M_zero_turns_graphs_off_and_every_search_is_exact()
    {
        var random = new Random(37);
        var model = new Dictionary<ulong, float[]>();
        var (catalog, collection) = await OpenAsync(create: true, """{"m":0}""");
        try
        {
            using (var patch = JsonDocument.Parse("""{"optimizers_config":{"indexing_threshold":1}}"""))
                await catalog.UpdateAsync("c", patch.RootElement, default);
            for (var batch = 0; batch < 4; batch++)
            {
                var writes = new List<PointWrite>();
                for (var i = 0; i < 500; i++)
                {
                    var id = (ulong)((batch * 500) + i);
                    model[id] = [.. Enumerable.Range(0, Dim).Select(_ => (float)random.NextDouble())];
                    writes.Add(new PointWrite(PointId.FromNumber(id), [new NamedVector("", model[id])], Payload.Empty));
                }

                await collection.ApplyAsync(new UpsertPoints([.. writes]), wait: true, default);
            }

            var stats = collection.Stats();
            Assert.Equal(2000, stats.PointsCount);
            Assert.Equal(0, stats.IndexedVectorsCount);
            Assert.False(stats.Optimizing || stats.OptimizationPending);
            Assert.Equal(0, collection.Memory().GraphBytes);
            for (var q = 0; q < 10; q++)
            {
                var query = Enumerable.Range(0, Dim).Select(_ => (float)random.NextDouble()).ToArray();
                var expected = model.OrderBy(p => p.Value.Zip(query, (a, b) => (double)(a - b) * (a - b)).Sum()).Take(10).Select(p => p.Key);
                var found = collection.Search(new SearchRequest(new NearestQuery(query, null), "", null, 10, 0, null, WithPayload.None, WithVector.None, false, HnswEf: 64), default);
                Assert.Equal(expected, found.Select(r => r.Id.Number));
            }
        }
        finally
        {
            await catalog.DisposeAsync();
        }
    }

    [Fact]
    public async Task Each_named_vector_builds_with_its_own_m_and_m_zero_leaves_that_vector_exact()
    {
        var random = new Random(41);
        var catalog = CollectionCatalog.Open(new CatalogOptions { StoragePath = _temp.Path, Shards = new() { Fsync = false } }, NullLogger.Instance);
        try
        {
            using (var doc = JsonDocument.Parse($$$"""
                {"vectors":{"a":{"size":{{{Dim}}},"distance":"Euclid","hnsw_config":{"m":6,"ef_construct":32}},
                            "b":{"size":{{{Dim}}},"distance":"Euclid","hnsw_config":{"m":0}},
                            "c":{"size":{{{Dim}}},"distance":"Euclid"}},
                 "hnsw_config":{"m":12,"ef_construct":48,"full_scan_threshold":1},"optimizers_config":{"indexing_threshold":0}}
                """))
                await catalog.CreateAsync("v", CollectionConfig.FromCreateRequest(doc.RootElement), default);
            var collection = catalog.Get("v");
            var model = new Dictionary<ulong, float[]>();
            var writes = new List<PointWrite>();
            for (ulong id = 0; id < 2000; id++)
            {
                model[id] = [.. Enumerable.Range(0, Dim).Select(_ => (float)random.NextDouble())];
                writes.Add(new PointWrite(PointId.FromNumber(id), [new NamedVector("a", model[id]), new NamedVector("b", model[id]), new NamedVector("c", model[id])], Payload.Empty));
            }

            await collection.ApplyAsync(new UpsertPoints([.. writes]), wait: true, default);
            using (var patch = JsonDocument.Parse("""{"optimizers_config":{"indexing_threshold":1}}"""))
                await catalog.UpdateAsync("v", patch.RootElement, default);
            await Optimizer.WaitIndexedAsync(collection);

            // Spaces are kept in name order: a, b, c.
            var graphs = collection.Shards.SelectMany(sh => sh.Read(set => set.Segments.Select(g => (A: g.Graph(0)?.M, B: g.Graph(1)?.M, C: g.Graph(2)?.M)).ToList())).ToList();
            Assert.Contains(graphs, g => g.A is not null);
            Assert.All(graphs.Where(g => g.A is not null), g => Assert.Equal((6, (int?)null, 12), (g.A!.Value, g.B, g.C!.Value)));

            for (var q = 0; q < 10; q++)
            {
                var query = Enumerable.Range(0, Dim).Select(_ => (float)random.NextDouble()).ToArray();
                var expected = model.OrderBy(p => p.Value.Zip(query, (x, y) => (double)(x - y) * (x - y)).Sum()).Take(10).Select(p => p.Key).ToList();
                var exact = collection.Search(new SearchRequest(new NearestQuery(query, null), "b", null, 10, 0, null, WithPayload.None, WithVector.None, false, HnswEf: 10), default);
                Assert.Equal(expected, exact.Select(r => r.Id.Number));
            }
        }
        finally
        {
            await catalog.DisposeAsync();
        }
    }

    private static void AssertMapped(Collection collection, int points)
    {
        // In memory, M=8 graphs take 68 bytes a point for level 0 alone; mapped, only levels and offsets (5 bytes).
        Assert.Equal(points, collection.Stats().IndexedVectorsCount);
        Assert.True(collection.Memory().GraphBytes < 20L * points, $"graph bytes in memory: {collection.Memory().GraphBytes}");
    }

    private static void AssertRecall(Collection collection, Dictionary<ulong, float[]> model, Random random)
    {
        var hits = 0;
        for (var q = 0; q < 30; q++)
        {
            var query = Enumerable.Range(0, Dim).Select(_ => (float)random.NextDouble()).ToArray();
            var expected = model.OrderBy(p => p.Value.Zip(query, (a, b) => (double)(a - b) * (a - b)).Sum()).Take(10).Select(p => p.Key).ToHashSet();
            var found = collection.Search(new SearchRequest(new NearestQuery(query, null), "", null, 10, 0, null, WithPayload.None, WithVector.None, false, HnswEf: 64), default);
            hits += found.Count(r => expected.Contains(r.Id.Number));
        }

        Assert.True(hits >= 285, $"recall {hits / 300.0:F3} below 0.95");
    }
}
