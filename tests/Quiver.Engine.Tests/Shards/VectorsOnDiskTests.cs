using System.Text.Json;
using Quiver.Engine.Catalog;
using Quiver.Engine.Collections;
using Quiver.Engine.Operations;
using Quiver.Engine.Query;
using Quiver.Engine.Tests.Infrastructure;
using Quiver.Segment.Errors;
using Quiver.Segment.Payloads;
using Quiver.Segment.Points;
using Quiver.Segment.Segments;

namespace Quiver.Engine.Tests.Shards;

/// <summary>
/// on_disk vectors (or <c>memory: cold</c>): an indexed segment's rows stay in its vector file, memory-mapped, and
/// answer exactly as rows in memory do, across restarts, deletes and a PATCH that moves them either way.
/// </summary>
public sealed class VectorsOnDiskTests : IDisposable
{
    private const int Dim = 16;
    private const int Points = 4000;
    private const long RawBytes = (long)Points * Dim * sizeof(float);
    private readonly TempDir _temp = new();

    public void Dispose() => _temp.Dispose();

    private static async Task<Dictionary<ulong, float[]>> CreateIndexedAsync(CollectionCatalog catalog, string vectorParams, string extra = "", bool waitForGraph = true)
    {
        var hnsw = extra.Contains("hnsw_config", StringComparison.Ordinal) ? string.Empty : ""","hnsw_config":{"m":8,"ef_construct":64,"full_scan_threshold":1}""";
        using (var doc = JsonDocument.Parse($$$"""
            {"vectors":{"size":{{{Dim}}},"distance":"Euclid"{{{vectorParams}}}},"optimizers_config":{"indexing_threshold":0}{{{hnsw}}}{{{extra}}}}
            """))
        {
            await catalog.CreateAsync("c", CollectionConfig.FromCreateRequest(doc.RootElement), default);
        }

        var collection = catalog.Get("c");
        var random = new Random(53);
        var model = new Dictionary<ulong, float[]>();
        var writes = new List<PointWrite>();
        for (ulong id = 0; id < Points; id++)
        {
            model[id] = [.. Enumerable.Range(0, Dim).Select(_ => (float)random.NextDouble())];
            writes.Add(new PointWrite(PointId.FromNumber(id), [new NamedVector("", model[id])], Payload.Empty));
        }

        await collection.ApplyAsync(new UpsertPoints([.. writes]), wait: true, default);
        using (var patch = JsonDocument.Parse("""{"optimizers_config":{"indexing_threshold":1}}"""))
            await catalog.UpdateAsync("c", patch.RootElement, default);
        if (waitForGraph)
            await Optimizer.WaitIndexedAsync(collection);
        return model;
    }

    [Theory]
    [InlineData(""","on_disk":true""")]
    [InlineData(",\"memory\":\"cold\"")]
    public async Task Vectors_on_disk_are_mapped_not_held_and_answer_exactly_across_a_restart(string placement)
    {
        var catalog = _temp.OpenCatalog();
        try
        {
            var model = await CreateIndexedAsync(catalog, placement);
            var collection = catalog.Get("c");
            AssertMapped(collection.Memory());
            Assert.NotEmpty(Directory.EnumerateFiles(_temp.Path, "seg-*-0.vec", SearchOption.AllDirectories));
            AssertExact(collection, model, new Random(5));
            AssertRecall(collection, model, new Random(6), default, floor: 0.95);

            // Deletes on a mapped segment flip flags only; after a restart the rows are mapped again and stay deleted.
            foreach (var id in model.Keys.Where(k => k % 7 == 0).ToArray())
                model.Remove(id);
            await collection.ApplyAsync(new DeletePoints(PointSelector.ByIds([.. Enumerable.Range(0, Points).Where(i => i % 7 == 0).Select(i => PointId.FromNumber((ulong)i))])), wait: true, default);
            await catalog.DisposeAsync();

            catalog = _temp.OpenCatalog();
            collection = catalog.Get("c");
            await Optimizer.WaitIndexedAsync(collection);
            AssertMapped(collection.Memory());
            Assert.Equal(model.Count, collection.Stats().PointsCount);
            AssertExact(collection, model, new Random(7));
            AssertRecall(collection, model, new Random(8), default, floor: 0.95);
        }
        finally
        {
            await catalog.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_vacuum_of_an_on_disk_segment_stages_its_rows_in_a_file_not_in_memory()
    {
        var catalog = _temp.OpenCatalog();
        try
        {
            var model = await CreateIndexedAsync(catalog, ""","on_disk":true""");
            var collection = catalog.Get("c");
            var firstFile = Directory.EnumerateFiles(_temp.Path, "seg-*-0.vec", SearchOption.AllDirectories).Single();

            // 30% deleted: past deleted_threshold (0.2), so the optimizer rebuilds the segment without them.
            var deleted = Enumerable.Range(0, Points).Where(i => i % 10 < 3).Select(i => (ulong)i).ToArray();
            await collection.ApplyAsync(new DeletePoints(PointSelector.ByIds([.. deleted.Select(PointId.FromNumber)])), wait: true, default);
            foreach (var id in deleted)
                model.Remove(id);
            var kept = (long)model.Count * Dim * sizeof(float);
            await WaitForAsync(() => collection.Memory().MappedVectorBytes == kept && collection.Stats() is { Optimizing: false, OptimizationPending: false });

            // The staged file took its final name; the old segment's goes with the next flush.
            var files = Directory.EnumerateFiles(_temp.Path, "seg-*.vec", SearchOption.AllDirectories).Select(Path.GetFileName).ToArray();
            Assert.DoesNotContain(files, f => f!.Contains("staged", StringComparison.Ordinal));
            Assert.Contains(files, f => f != Path.GetFileName(firstFile));
            Assert.True(collection.Memory().VectorBytes < kept / 2, $"{collection.Memory().VectorBytes} bytes of vectors in memory");
            AssertExact(collection, model, new Random(15));
            AssertRecall(collection, model, new Random(16), default, floor: 0.95);

            await catalog.DisposeAsync();
            catalog = _temp.OpenCatalog();
            collection = catalog.Get("c");
            Assert.Equal(kept, collection.Memory().MappedVectorBytes);
            Assert.Single(Directory.EnumerateFiles(_temp.Path, "seg-*.vec", SearchOption.AllDirectories));
            AssertExact(collection, model, new Random(17));
        }
        finally
        {
            await catalog.DisposeAsync();
        }
    }

    [Fact]
    public async Task Int8_codes_in_memory_walk_and_mapped_vectors_rescore()
    {
        var catalog = _temp.OpenCatalog();
        try
        {
            var model = await CreateIndexedAsync(catalog, ""","on_disk":true""", ""","quantization_config":{"scalar":{"type":"int8","always_ram":true}}""");
            var collection = catalog.Get("c");
            var memory = collection.Memory();
            AssertMapped(memory);
            Assert.InRange(memory.CodeBytes, Points * Dim, Points * (Dim + 64));
            AssertRecall(collection, model, new Random(9), new QuantizationSearch(false, true, 2), floor: 0.95);
        }
        finally
        {
            await catalog.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_patch_moves_a_serving_segments_rows_to_their_file_and_back()
    {
        var catalog = _temp.OpenCatalog();
        try
        {
            var model = await CreateIndexedAsync(catalog, string.Empty);
            var collection = catalog.Get("c");
            Assert.Equal(0, collection.Memory().MappedVectorBytes);
            Assert.True(collection.Memory().VectorBytes >= RawBytes);

            using (var patch = JsonDocument.Parse("""{"vectors":{"":{"on_disk":true}}}"""))
                await catalog.UpdateAsync("c", patch.RootElement, default);
            await WaitForAsync(() => collection.Memory().MappedVectorBytes == RawBytes);
            AssertMapped(collection.Memory());
            AssertExact(collection, model, new Random(11));

            using (var patch = JsonDocument.Parse("""{"vectors":{"":{"memory":"cached"}}}"""))
                await catalog.UpdateAsync("c", patch.RootElement, default);
            await WaitForAsync(() => collection.Memory().MappedVectorBytes == 0);
            Assert.True(collection.Memory().VectorBytes >= RawBytes);
            AssertExact(collection, model, new Random(12));
        }
        finally
        {
            await catalog.DisposeAsync();
        }
    }

    [Fact]
    public async Task Deletes_on_a_segment_without_a_graph_stay_deleted_when_its_rows_move()
    {
        var catalog = _temp.OpenCatalog();
        try
        {
            // m 0 with payload_m: segments are sealed and persisted, but their stores never freeze behind a graph.
            var model = await CreateIndexedAsync(catalog, string.Empty, ""","hnsw_config":{"m":0,"payload_m":16,"full_scan_threshold":1}""", waitForGraph: false);
            var collection = catalog.Get("c");
            await WaitForAsync(() => Directory.EnumerateFiles(_temp.Path, "seg-*-0.vec", SearchOption.AllDirectories).Any() && collection.Stats() is { Optimizing: false, OptimizationPending: false });
            var deleted = Enumerable.Range(0, Points).Where(i => i % 5 == 0).Select(i => (ulong)i).ToArray();
            await collection.ApplyAsync(new DeletePoints(PointSelector.ByIds([.. deleted.Select(PointId.FromNumber)])), wait: true, default);
            foreach (var id in deleted)
                model.Remove(id);

            using (var patch = JsonDocument.Parse("""{"vectors":{"":{"on_disk":true}}}"""))
                await catalog.UpdateAsync("c", patch.RootElement, default);
            await WaitForAsync(() => collection.Memory().MappedVectorBytes == RawBytes);
            Assert.Equal(model.Count, collection.Stats().PointsCount);
            AssertExact(collection, model, new Random(13));

            using (var patch = JsonDocument.Parse("""{"vectors":{"":{"on_disk":false}}}"""))
                await catalog.UpdateAsync("c", patch.RootElement, default);
            await WaitForAsync(() => collection.Memory().MappedVectorBytes == 0);
            AssertExact(collection, model, new Random(14));
        }
        finally
        {
            await catalog.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_damaged_vector_file_fails_the_load_and_names_the_file()
    {
        var catalog = _temp.OpenCatalog();
        await CreateIndexedAsync(catalog, ""","on_disk":true""");
        await catalog.DisposeAsync();

        var file = Directory.EnumerateFiles(_temp.Path, "seg-*-0.vec", SearchOption.AllDirectories).Single();
        var bytes = await File.ReadAllBytesAsync(file);
        bytes[^5] ^= 0x5A;
        await File.WriteAllBytesAsync(file, bytes);

        var error = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            var reopened = _temp.OpenCatalog();
            await reopened.DisposeAsync();
        });
        Assert.Contains(Path.GetFileName(file), error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"vectors":{"size":4,"distance":"Dot","memory":"pinned"}}""", "vectors.memory")]
    [InlineData("""{"vectors":{"size":4,"distance":"Dot","memory":"hot"}}""", "vectors.memory")]
    [InlineData("""{"vectors":{"size":4,"distance":"Dot","on_disk":"yes"}}""", "vectors.on_disk")]
    public void Bad_placements_are_refused_naming_the_field(string body, string field)
    {
        using var doc = JsonDocument.Parse(body);
        var error = Assert.Throws<QuiverException>(() => CollectionConfig.FromCreateRequest(doc.RootElement));
        Assert.Contains(field, error.Message, StringComparison.Ordinal);
    }

    private static void AssertMapped(CollectionMemory memory)
    {
        Assert.Equal(RawBytes, memory.MappedVectorBytes);
        // Left in memory: presence flags and the empty appendable segment's first rows, far below the rows themselves.
        Assert.True(memory.VectorBytes < RawBytes / 2, $"{memory.VectorBytes} bytes of vectors in memory");
    }

    private static IEnumerable<ulong> BruteForce(Dictionary<ulong, float[]> model, float[] query) =>
        model.OrderBy(p => p.Value.Zip(query, (a, b) => (double)(a - b) * (a - b)).Sum()).ThenBy(p => p.Key).Take(10).Select(p => p.Key);

    private static void AssertExact(Collection collection, Dictionary<ulong, float[]> model, Random random)
    {
        for (var q = 0; q < 10; q++)
        {
            var query = Enumerable.Range(0, Dim).Select(_ => (float)random.NextDouble()).ToArray();
            var found = collection.Search(new SearchRequest(new NearestQuery(query, null), "", null, 10, 0, null, WithPayload.None, WithVector.None, Exact: true), default);
            Assert.Equal(BruteForce(model, query), found.Select(r => r.Id.Number));
        }
    }

    private static void AssertRecall(Collection collection, Dictionary<ulong, float[]> model, Random random, QuantizationSearch quantization, double floor)
    {
        var hits = 0;
        const int queries = 50;
        for (var q = 0; q < queries; q++)
        {
            var query = Enumerable.Range(0, Dim).Select(_ => (float)random.NextDouble()).ToArray();
            var found = collection.Search(new SearchRequest(new NearestQuery(query, null), "", null, 10, 0, null, WithPayload.None, WithVector.None, false, HnswEf: 64, Quantization: quantization), default);
            hits += found.Select(r => r.Id.Number).Intersect(BruteForce(model, query)).Count();
        }

        Assert.True(hits / (10.0 * queries) >= floor, $"recall@10 {hits / (10.0 * queries):F3} below {floor}");
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        for (var i = 0; i < 600 && !condition(); i++)
            await Task.Delay(50);
        Assert.True(condition(), "the optimizer did not move the rows within 30 s");
    }
}
