using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Quiver.Engine.Catalog;
using Quiver.Engine.Collections;
using Quiver.Engine.Operations;
using Quiver.Engine.Query;
using Quiver.Engine.Tests.Infrastructure;
using Quiver.Segment.Filtering;
using Quiver.Segment.Payloads;
using Quiver.Segment.Points;

namespace Quiver.Engine.Tests.Shards;

/// <summary>
/// on_disk_payload (true unless set false, as in Qdrant): an indexed segment's payloads stay in its points file,
/// mapped, and are read when asked for; they read back, filter and index exactly as payloads in memory do, across
/// restarts, deletes, payload changes and a PATCH that moves them either way.
/// </summary>
public sealed class PayloadsOnDiskTests : IDisposable
{
    private const int Dim = 8;
    private const int Points = 3000;
    private readonly TempDir _temp = new();

    public void Dispose() => _temp.Dispose();

    /// <summary>Payload of point <paramref name="id"/>: every fifth empty, the rest with text, a tag and nested values.</summary>
    private static string PayloadJson(ulong id) => id % 5 == 0
        ? "{}"
        : $$$"""{"text":"{{{new string((char)('a' + (int)(id % 26)), (int)(id % 300))}}} é ✓","tag":"t{{{id % 7}}}","n":{{{id}}},"nested":{"odd":{{{(id % 2 == 1 ? "true" : "false")}}},"list":[{{{id % 3}}},{{{id % 11}}}]}}""";

    private static async Task<Dictionary<ulong, string>> CreateIndexedAsync(CollectionCatalog catalog, string extra = "")
    {
        using (var doc = JsonDocument.Parse($$"""
            {"vectors":{"size":{{Dim}},"distance":"Euclid"},"optimizers_config":{"indexing_threshold":0},"hnsw_config":{"m":8,"ef_construct":32,"full_scan_threshold":1}{{extra}}}
            """))
        {
            await catalog.CreateAsync("c", CollectionConfig.FromCreateRequest(doc.RootElement), default);
        }

        var collection = catalog.Get("c");
        await collection.ApplyAsync(new CreateFieldIndex("tag", "\"keyword\""u8.ToArray()), wait: true, default);
        var random = new Random(71);
        var model = new Dictionary<ulong, string>();
        var writes = new List<PointWrite>();
        for (ulong id = 0; id < Points; id++)
        {
            model[id] = PayloadJson(id);
            float[] vector = [.. Enumerable.Range(0, Dim).Select(_ => (float)random.NextDouble())];
            writes.Add(new PointWrite(PointId.FromNumber(id), [new NamedVector("", vector)], Payload.FromUtf8(Encoding.UTF8.GetBytes(model[id]))));
        }

        await collection.ApplyAsync(new UpsertPoints([.. writes]), wait: true, default);
        using (var patch = JsonDocument.Parse("""{"optimizers_config":{"indexing_threshold":1}}"""))
            await catalog.UpdateAsync("c", patch.RootElement, default);
        await Optimizer.WaitIndexedAsync(collection);
        return model;
    }

    [Fact]
    public async Task Payloads_stay_in_the_points_file_and_read_filter_and_index_exactly_across_a_restart()
    {
        var catalog = _temp.OpenCatalog();
        try
        {
            var model = await CreateIndexedAsync(catalog);
            var collection = catalog.Get("c");
            await WaitForAsync(() => collection.Memory().MappedPayloadBytes > 0 && InMemoryPayloadBytes(collection) == 0);
            AssertPayloads(collection, model);

            // A delete takes the point out of the (in-memory) keyword index, reading its payload from the file.
            var deleted = model.Keys.Where(k => k % 9 == 4).ToArray();
            await collection.ApplyAsync(new DeletePoints(PointSelector.ByIds([.. deleted.Select(PointId.FromNumber)])), wait: true, default);
            foreach (var id in deleted)
                model.Remove(id);

            // A changed payload moves its point out of the indexed segment, with the new payload.
            await collection.ApplyAsync(new SetPayload(Payload.FromUtf8("""{"tag":"moved","extra":1}"""u8.ToArray()), PointSelector.ByIds([PointId.FromNumber(7)]), null), wait: true, default);
            model[7] = """{"text":"hhhhhhh é ✓","tag":"moved","n":7,"nested":{"odd":true,"list":[1,7]},"extra":1}""";
            AssertPayloads(collection, model);

            await catalog.DisposeAsync();
            catalog = _temp.OpenCatalog();
            collection = catalog.Get("c");
            await Optimizer.WaitIndexedAsync(collection);
            Assert.True(collection.Memory().MappedPayloadBytes > 0);
            AssertPayloads(collection, model);
        }
        finally
        {
            await catalog.DisposeAsync();
        }
    }

    [Fact]
    public async Task On_disk_payload_false_holds_them_in_memory_and_a_patch_moves_them_both_ways()
    {
        var catalog = _temp.OpenCatalog();
        try
        {
            var model = await CreateIndexedAsync(catalog, ""","on_disk_payload":false""");
            var collection = catalog.Get("c");
            Assert.Equal(0, collection.Memory().MappedPayloadBytes);
            Assert.True(InMemoryPayloadBytes(collection) > 0);
            AssertPayloads(collection, model);

            using (var patch = JsonDocument.Parse("""{"params":{"on_disk_payload":true}}"""))
                await catalog.UpdateAsync("c", patch.RootElement, default);
            await WaitForAsync(() => collection.Memory().MappedPayloadBytes > 0 && InMemoryPayloadBytes(collection) == 0);
            AssertPayloads(collection, model);

            // Deleted rows of a mapped segment stay deleted when its payloads come back into memory.
            var deleted = model.Keys.Where(k => k % 13 == 1).ToArray();
            await collection.ApplyAsync(new DeletePoints(PointSelector.ByIds([.. deleted.Select(PointId.FromNumber)])), wait: true, default);
            foreach (var id in deleted)
                model.Remove(id);

            using (var patch = JsonDocument.Parse("""{"params":{"on_disk_payload":false}}"""))
                await catalog.UpdateAsync("c", patch.RootElement, default);
            await WaitForAsync(() => collection.Memory().MappedPayloadBytes == 0);
            Assert.True(InMemoryPayloadBytes(collection) > 0);
            AssertPayloads(collection, model);

            // The setting holds across a restart: the segment loads with its payloads in memory.
            await catalog.DisposeAsync();
            catalog = _temp.OpenCatalog();
            collection = catalog.Get("c");
            Assert.Equal(0, catalog.Get("c").Memory().MappedPayloadBytes);
            AssertPayloads(collection, model);
        }
        finally
        {
            await catalog.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_vacuum_of_a_segment_with_payloads_on_disk_maps_the_new_segments_file()
    {
        var catalog = _temp.OpenCatalog();
        try
        {
            var model = await CreateIndexedAsync(catalog);
            var collection = catalog.Get("c");
            var before = Directory.EnumerateFiles(_temp.Path, "seg-*.qsn", SearchOption.AllDirectories).Select(Path.GetFileName).ToHashSet();

            // 30% deleted: past deleted_threshold (0.2), so the optimizer rebuilds the segment without them.
            var deleted = model.Keys.Where(k => k % 10 < 3).ToArray();
            await collection.ApplyAsync(new DeletePoints(PointSelector.ByIds([.. deleted.Select(PointId.FromNumber)])), wait: true, default);
            foreach (var id in deleted)
                model.Remove(id);
            await WaitForAsync(() => collection.Stats() is { Optimizing: false, OptimizationPending: false }
                && Directory.EnumerateFiles(_temp.Path, "seg-*.qsn", SearchOption.AllDirectories).Select(Path.GetFileName).Any(f => !before.Contains(f))
                && collection.Memory().MappedPayloadBytes > 0 && InMemoryPayloadBytes(collection) == 0);
            AssertPayloads(collection, model);
        }
        finally
        {
            await catalog.DisposeAsync();
        }
    }

    /// <summary>Payload bytes the indexed segments hold in memory.</summary>
    private static long InMemoryPayloadBytes(Collection collection) =>
        collection.Footprint().Where(f => f.Kind == "indexed").Sum(f => f.PayloadBytes);

    /// <summary>Every point's payload reads back as written; a keyword filter (indexed) and nested and full-text-free
    /// conditions on fields without an index (read from the payloads) select exactly the expected points.</summary>
    private static void AssertPayloads(Collection collection, Dictionary<ulong, string> model)
    {
        var records = collection.Get([.. model.Keys.Select(PointId.FromNumber)], WithPayload.All, WithVector.None);
        Assert.Equal(model.Count, records.Count);
        foreach (var record in records)
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse(model[record.Id.Number]), JsonNode.Parse(record.Payload!.Utf8)), $"point {record.Id.Number}: {Encoding.UTF8.GetString(record.Payload!.Utf8)}");

        AssertFilter(collection, model, """{"must":[{"key":"tag","match":{"value":"t3"}}]}""", p => Tag(p) == "t3");
        AssertFilter(collection, model, """{"must":[{"key":"nested.odd","match":{"value":true}},{"key":"n","range":{"gte":1000}}]}""",
            p => p.RootElement.TryGetProperty("nested", out var n) && n.GetProperty("odd").GetBoolean() && p.RootElement.GetProperty("n").GetInt64() >= 1000);
        AssertFilter(collection, model, """{"must":[{"is_empty":{"key":"tag"}}]}""", p => Tag(p) is null);

        // A search filtered on an unindexed field reads payloads during the walk and returns only matching points.
        var found = collection.Search(new SearchRequest(new NearestQuery(new float[Dim], null), "", Parse("""{"must":[{"key":"nested.list","match":{"value":10}}]}"""), 10, 0, null, WithPayload.All, WithVector.None, false, HnswEf: 64), default);
        var expected = model.Where(p => p.Key % 11 == 10 && p.Value != "{}" && p.Key != 7).Select(p => p.Key).ToHashSet();
        Assert.Equal(Math.Min(10, expected.Count), found.Count);
        Assert.All(found, r => Assert.Contains(r.Id.Number, expected));
    }

    private static void AssertFilter(Collection collection, Dictionary<ulong, string> model, string filter, Func<JsonDocument, bool> matches)
    {
        var expected = model.Where(p =>
        {
            using var doc = JsonDocument.Parse(p.Value);
            return matches(doc);
        }).Select(p => p.Key).Order().ToArray();
        Assert.NotEmpty(expected);
        var scrolled = collection.Scroll(new ScrollRequest(Parse(filter), null, Points, null, WithPayload.None, WithVector.None));
        Assert.Equal(expected, scrolled.Points.Select(p => p.Id.Number).Order().ToArray());
        Assert.Equal(expected.Length, collection.Count(Parse(filter)));
    }

    private static string? Tag(JsonDocument payload) => payload.RootElement.TryGetProperty("tag", out var tag) ? tag.GetString() : null;

    private static Filter Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return FilterParser.Parse(doc.RootElement);
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        for (var i = 0; i < 600 && !condition(); i++)
            await Task.Delay(50);
        Assert.True(condition(), "the optimizer did not move the payloads within 30 s");
    }
}
