using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
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
/// The optimizer seals and indexes segments while writes go on; reads see every live point exactly once, never a
/// stale copy, and indexed segments survive a restart without being rebuilt.
/// </summary>
public sealed class IndexedSegmentTests : IDisposable
{
    private const int Dim = 8;
    private readonly TempDir _temp = new();

    public void Dispose() => _temp.Dispose();

    private static Payload Json(string json) => Payload.FromUtf8(Encoding.UTF8.GetBytes(json));

    private static float[] Vector(Random random) => Enumerable.Range(0, Dim).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray();

    private async Task<(CollectionCatalog Catalog, Collection Collection)> OpenAsync(bool create, int indexingThresholdKb = 1, int segmentNumber = 0)
    {
        var catalog = CollectionCatalog.Open(new CatalogOptions { StoragePath = _temp.Path, Shards = new() { Fsync = false } }, NullLogger.Instance);
        if (create)
        {
            using var doc = JsonDocument.Parse($$$"""{"vectors":{"size":{{{Dim}}},"distance":"Euclid"},"optimizers_config":{"indexing_threshold":{{{indexingThresholdKb}}},"default_segment_number":{{{segmentNumber}}}},"hnsw_config":{"m":8,"ef_construct":64,"full_scan_threshold":1}}""");
            await catalog.CreateAsync("c", CollectionConfig.FromCreateRequest(doc.RootElement), default);
        }

        return (catalog, catalog.Get("c"));
    }

    private static async Task UpsertAsync(Collection collection, IEnumerable<(ulong Id, float[] Vector, string Payload)> points) =>
        await collection.ApplyAsync(new UpsertPoints([.. points.Select(p => new PointWrite(PointId.FromNumber(p.Id), [new NamedVector("", p.Vector)], Json(p.Payload)))]), wait: true, default);

    private static async Task WaitOptimizedAsync(Collection collection)
    {
        for (var i = 0; i < 600; i++)
        {
            var stats = collection.Stats();
            if (!stats.Optimizing && !stats.OptimizationPending)
                return;
            await Task.Delay(50);
        }

        throw new TimeoutException("optimizer did not finish");
    }

    private static List<ulong> Nearest(Collection collection, float[] query, int k, Filter? filter = null, bool exact = false) =>
        [.. collection.Search(new SearchRequest(new NearestQuery(query, null), "", filter, k, 0, null, WithPayload.None, WithVector.None, exact, HnswEf: 128), default)
            .Select(r => r.Id.Number)];

    private static List<ulong> BruteForce(Dictionary<ulong, float[]> model, float[] query, int k) =>
        [.. model.OrderBy(p => p.Value.Zip(query, (a, b) => (double)(a - b) * (a - b)).Sum()).ThenBy(p => p.Key).Take(k).Select(p => p.Key)];

    [Fact]
    public async Task Indexed_segments_serve_updates_and_deletes_without_stale_copies_and_survive_restart()
    {
        var random = new Random(11);
        var model = new Dictionary<ulong, float[]>();
        var (catalog, collection) = await OpenAsync(create: true);
        try
        {
            // ~1 KB per 32 points of 8 floats: several batches seal and index several segments.
            for (var batch = 0; batch < 10; batch++)
            {
                var points = Enumerable.Range(batch * 100, 100).Select(i => ((ulong)i, Vector(random), $$"""{"b":{{batch}}}""")).ToArray();
                foreach (var (id, v, _) in points)
                    model[id] = v;
                await UpsertAsync(collection, points);
            }

            await WaitOptimizedAsync(collection);
            var stats = collection.Stats();
            Assert.Equal(1000, stats.PointsCount);
            Assert.True(stats.IndexedVectorsCount >= 900, $"indexed {stats.IndexedVectorsCount}");

            // Changes to points that live in indexed segments: moved to the appendable one, old copies deleted.
            for (ulong id = 0; id < 1000; id += 7)
            {
                var v = Vector(random);
                model[id] = v;
                await UpsertAsync(collection, [(id, v, """{"b":"moved"}""")]);
            }

            var deleted = Enumerable.Range(0, 1000).Where(i => i % 11 == 3).Select(i => PointId.FromNumber((ulong)i)).ToArray();
            await collection.ApplyAsync(new DeletePoints(PointSelector.ByIds(deleted)), wait: true, default);
            foreach (var id in deleted)
                model.Remove(id.Number);
            await collection.ApplyAsync(new SetPayload(Json("""{"tag":"x"}"""), PointSelector.ByIds([PointId.FromNumber(1), PointId.FromNumber(2)]), null), wait: true, default);

            await AssertMatchesModelAsync(collection, model, random);
            await WaitOptimizedAsync(collection);
            await AssertMatchesModelAsync(collection, model, random);
            var before = collection.Stats();

            await catalog.DisposeAsync();
            (catalog, collection) = await OpenAsync(create: false);
            // Sealed indexed segments load as they were; the appendable segment's live graph is re-linked.
            await WaitOptimizedAsync(collection);
            var after = collection.Stats();
            Assert.Equal(before.PointsCount, after.PointsCount);
            Assert.Equal(before.IndexedVectorsCount, after.IndexedVectorsCount);
            await AssertMatchesModelAsync(collection, model, random);

            // Filtered graph search answered from an index: only matching, live points, and exact mode is exact.
            await collection.ApplyAsync(new CreateFieldIndex("b", "\"integer\""u8.ToArray()), wait: true, default);
            using var doc = JsonDocument.Parse("""{"must":[{"key":"b","match":{"value":3}}]}""");
            var filter = FilterParser.Parse(doc.RootElement);
            var batch3 = model.Where(p => p.Key / 100 == 3 && p.Key % 7 != 0).ToDictionary(p => p.Key, p => p.Value);
            for (var q = 0; q < 20; q++)
            {
                var query = Vector(random);
                var approximate = Nearest(collection, query, 10, filter);
                Assert.All(approximate, id => Assert.True(batch3.ContainsKey(id), $"{id} does not match the filter or is deleted"));
                Assert.Equal(BruteForce(batch3, query, 10), Nearest(collection, query, 10, filter, exact: true));
            }
        }
        finally
        {
            await catalog.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_segment_that_reaches_the_threshold_under_writes_is_indexed_live_and_stays_one_segment()
    {
        var random = new Random(12);
        var model = new Dictionary<ulong, float[]>();
        // 8 KB of 8-float vectors is 256 points: crossing it batch by batch makes the appendable segment go live.
        var (catalog, collection) = await OpenAsync(create: true, indexingThresholdKb: 8);
        try
        {
            for (var batch = 0; batch < 6; batch++)
            {
                var points = Enumerable.Range(batch * 50, 50).Select(i => ((ulong)i, Vector(random), "{}")).ToArray();
                foreach (var (id, v, _) in points)
                    model[id] = v;
                await UpsertAsync(collection, points);
                await WaitOptimizedAsync(collection);
            }

            Assert.Equal(1, collection.Stats().SegmentsCount);
            Assert.Equal(300, collection.Stats().IndexedVectorsCount);

            // Streaming on: every write is linked into the same graph, nothing is sealed or rebuilt.
            for (var batch = 0; batch < 30; batch++)
            {
                var points = Enumerable.Range(300 + (batch * 100), 100).Select(i => ((ulong)i, Vector(random), "{}")).ToArray();
                foreach (var (id, v, _) in points)
                    model[id] = v;
                await UpsertAsync(collection, points);
                // Acknowledged means searchable: the last point is its own nearest neighbour right away.
                Assert.Equal(points[^1].Item1, Nearest(collection, points[^1].Item2, 1)[0]);
            }

            await WaitOptimizedAsync(collection);
            var stats = collection.Stats();
            Assert.Equal(1, stats.SegmentsCount);
            Assert.Equal(3300, stats.PointsCount);
            Assert.Equal(3300, stats.IndexedVectorsCount);
            AssertRecall(collection, model, random);

            // A flush writes the rows added since the last one to a file of their own; earlier files stay as written.
            collection.Flush();
            var firstChunks = ChunkFiles();
            Assert.NotEmpty(firstChunks);
            var written = firstChunks.ToDictionary(f => f, File.GetLastWriteTimeUtc);

            // Updates, vector and payload changes and deletes of linked points: appended rows plus deletion marks.
            for (ulong id = 0; id < 3300; id += 13)
            {
                model[id] = Vector(random);
                await UpsertAsync(collection, [(id, model[id], """{"moved":true}""")]);
            }

            await collection.ApplyAsync(new SetPayload(Json("""{"tag":"x"}"""), PointSelector.ByIds([PointId.FromNumber(5), PointId.FromNumber(6)]), null), wait: true, default);
            var deleted = Enumerable.Range(0, 3300).Where(i => i % 17 == 4).Select(i => PointId.FromNumber((ulong)i)).ToArray();
            await collection.ApplyAsync(new DeletePoints(PointSelector.ByIds(deleted)), wait: true, default);
            foreach (var id in deleted)
                model.Remove(id.Number);
            collection.Flush();
            Assert.True(ChunkFiles().Length > firstChunks.Length);
            Assert.All(written, f => Assert.Equal(f.Value, File.GetLastWriteTimeUtc(f.Key)));

            await catalog.DisposeAsync();
            // Shutdown wrote the live graph whole; the restart resumes from it (the file stays, named by the manifest).
            var liveGraph = Assert.Single(Directory.GetFiles(_temp.Path, "seg-*-0-live-*.hnsw", SearchOption.AllDirectories));
            Assert.True(int.Parse(Path.GetFileNameWithoutExtension(liveGraph).Split('-')[^1], System.Globalization.CultureInfo.InvariantCulture) > 3300);
            (catalog, collection) = await OpenAsync(create: false);
            await WaitOptimizedAsync(collection);
            Assert.True(File.Exists(liveGraph));
            Assert.Equal(1, collection.Stats().SegmentsCount);
            Assert.Equal(model.Count, collection.Stats().IndexedVectorsCount);
            Assert.Equal(model.Count, collection.Count(null));
            var scrolled = collection.Scroll(new ScrollRequest(null, null, 5000, null, WithPayload.None, WithVector.All));
            Assert.Equal(model.Keys.Order(), scrolled.Points.Select(p => p.Id.Number));
            Assert.All(scrolled.Points, p => Assert.Equal(model[p.Id.Number], p.Vectors![0].Values));
            var payloads = collection.Get([PointId.FromNumber(5), PointId.FromNumber(13)], WithPayload.All, WithVector.None);
            Assert.Equal("""{"tag":"x"}""", Encoding.UTF8.GetString(payloads[0].Payload!.Utf8));
            Assert.Equal("""{"moved":true}""", Encoding.UTF8.GetString(payloads[1].Payload!.Utf8));
            AssertRecall(collection, model, random);

            // Linking goes on from the restored graph, and the next shutdown replaces the graph file.
            var more = Enumerable.Range(10_000, 300).Select(i => ((ulong)i, Vector(random), "{}")).ToArray();
            foreach (var (id, v, _) in more)
                model[id] = v;
            await UpsertAsync(collection, more);
            await WaitOptimizedAsync(collection);
            Assert.Equal(model.Count, collection.Stats().IndexedVectorsCount);
            AssertRecall(collection, model, random);
            await catalog.DisposeAsync();
            var replaced = Assert.Single(Directory.GetFiles(_temp.Path, "seg-*-0-live-*.hnsw", SearchOption.AllDirectories));
            Assert.NotEqual(liveGraph, replaced);
            (catalog, collection) = await OpenAsync(create: false);
            await WaitOptimizedAsync(collection);
            Assert.Equal(model.Count, collection.Count(null));
            AssertRecall(collection, model, random);
        }
        finally
        {
            await catalog.DisposeAsync();
        }
    }

    [Fact]
    public async Task Small_indexed_segments_are_merged_down_to_default_segment_number()
    {
        var random = new Random(13);
        var model = new Dictionary<ulong, float[]>();
        // A 1 KB threshold seals and indexes a segment per batch; the merge optimizer folds them together.
        var (catalog, collection) = await OpenAsync(create: true, indexingThresholdKb: 1, segmentNumber: 2);
        try
        {
            for (var batch = 0; batch < 8; batch++)
            {
                var points = Enumerable.Range(batch * 100, 100).Select(i => ((ulong)i, Vector(random), "{}")).ToArray();
                foreach (var (id, v, _) in points)
                    model[id] = v;
                await UpsertAsync(collection, points);
                await WaitOptimizedAsync(collection);
            }

            var stats = collection.Stats();
            Assert.InRange(stats.SegmentsCount, 2, 3); // at most two indexed segments, plus the appendable one
            Assert.Equal(800, stats.PointsCount);
            Assert.Equal(800, stats.IndexedVectorsCount);
            AssertRecall(collection, model, random);

            await catalog.DisposeAsync();
            (catalog, collection) = await OpenAsync(create: false);
            Assert.Equal(stats.SegmentsCount, collection.Stats().SegmentsCount);
            Assert.Equal(800, collection.Count(null));
            AssertRecall(collection, model, random);
        }
        finally
        {
            await catalog.DisposeAsync();
        }
    }

    private string[] ChunkFiles() =>
        [.. Directory.EnumerateFiles(_temp.Path, "seg-*-rows-*.qsn", SearchOption.AllDirectories)];

    private static void AssertRecall(Collection collection, Dictionary<ulong, float[]> model, Random random)
    {
        var hits = 0;
        for (var q = 0; q < 50; q++)
        {
            var query = Vector(random);
            hits += Nearest(collection, query, 10).Intersect(BruteForce(model, query, 10)).Count();
        }

        Assert.True(hits >= 475, $"recall@10 {hits / 500.0:F3}"); // floor 0.95
    }

    private static async Task AssertMatchesModelAsync(Collection collection, Dictionary<ulong, float[]> model, Random random)
    {
        Assert.Equal(model.Count, collection.Count(null));
        var scrolled = collection.Scroll(new ScrollRequest(null, null, 5000, null, WithPayload.None, WithVector.All));
        Assert.Equal(model.Keys.Order(), scrolled.Points.Select(p => p.Id.Number));
        foreach (var p in scrolled.Points)
            Assert.Equal(model[p.Id.Number], p.Vectors![0].Values);
        var payload = collection.Get([PointId.FromNumber(1), PointId.FromNumber(7)], WithPayload.All, WithVector.None);
        Assert.Equal("""{"b":0,"tag":"x"}""", Encoding.UTF8.GetString(payload[0].Payload!.Utf8));
        Assert.Equal("""{"b":"moved"}""", Encoding.UTF8.GetString(payload[1].Payload!.Utf8));

        var hits = 0;
        for (var q = 0; q < 50; q++)
        {
            var query = Vector(random);
            var truth = BruteForce(model, query, 10);
            var exact = Nearest(collection, query, 10, exact: true);
            Assert.Equal(truth, exact);
            var approximate = Nearest(collection, query, 10);
            // Never a deleted point or a stale copy, whatever the recall.
            Assert.All(approximate, id => Assert.True(model.ContainsKey(id), $"returned deleted point {id}"));
            Assert.Equal(approximate.Count, approximate.Distinct().Count());
            hits += approximate.Intersect(truth).Count();
        }

        Assert.True(hits >= 50 * 10 * 0.95, $"recall@10 {hits / 500.0} " + string.Join(" | ", collection.Shards.SelectMany(sh => sh.Read(set => set.Segments.Select(g => $"live {g.LiveCount} used {g.UsedSlots} sealed {g.IsSealed} ao {g.IsAppendOnly} graph {g.Graph(0)?.Count}/{g.Graph(0)?.Capacity}").ToList()))));
        await Task.CompletedTask;
    }

    [Fact]
    public async Task A_damaged_live_graph_file_costs_a_relink_not_the_collection()
    {
        var random = new Random(21);
        var model = new Dictionary<ulong, float[]>();
        var (catalog, collection) = await OpenAsync(create: true, indexingThresholdKb: 8);
        try
        {
            for (var batch = 0; batch < 10; batch++)
            {
                var points = Enumerable.Range(batch * 200, 200).Select(i => ((ulong)i, Vector(random), "{}")).ToArray();
                foreach (var (id, v, _) in points)
                    model[id] = v;
                await UpsertAsync(collection, points);
                await WaitOptimizedAsync(collection);
            }

            await catalog.DisposeAsync();
            var liveGraph = Assert.Single(Directory.GetFiles(_temp.Path, "seg-*-0-live-*.hnsw", SearchOption.AllDirectories));
            var bytes = await File.ReadAllBytesAsync(liveGraph);
            bytes[bytes.Length / 2] ^= 0x5A;
            await File.WriteAllBytesAsync(liveGraph, bytes);

            (catalog, collection) = await OpenAsync(create: false);
            await WaitOptimizedAsync(collection);
            Assert.Equal(model.Count, collection.Count(null));
            Assert.Equal(model.Count, collection.Stats().IndexedVectorsCount);
            AssertRecall(collection, model, random);
        }
        finally
        {
            await catalog.DisposeAsync();
        }
    }

    [Fact]
    public async Task Writes_during_optimization_are_all_kept()
    {
        var random = new Random(5);
        var model = new Dictionary<ulong, float[]>();
        var (catalog, collection) = await OpenAsync(create: true, indexingThresholdKb: 20);
        try
        {
            for (var round = 0; round < 40; round++)
            {
                var points = Enumerable.Range(0, 50).Select(_ => ((ulong)random.Next(0, 1500), Vector(random), "{}")).DistinctBy(p => p.Item1).ToArray();
                foreach (var (id, v, _) in points)
                    model[id] = v;
                await UpsertAsync(collection, points);
                if (round % 5 == 4)
                {
                    var victim = model.Keys.ElementAt(random.Next(model.Count));
                    model.Remove(victim);
                    await collection.ApplyAsync(new DeletePoints(PointSelector.ByIds([PointId.FromNumber(victim)])), wait: true, default);
                }
            }

            await WaitOptimizedAsync(collection);
            Assert.Equal(model.Count, collection.Count(null));
            var scrolled = collection.Scroll(new ScrollRequest(null, null, 5000, null, WithPayload.None, WithVector.All));
            Assert.Equal(model.Keys.Order(), scrolled.Points.Select(p => p.Id.Number));
            foreach (var p in scrolled.Points)
                Assert.Equal(model[p.Id.Number], p.Vectors![0].Values);
            // The optimizer worked while the writes came: it sealed and rebuilt a segment, or (when it kept up with
            // the threshold crossing) indexed the segment live. Which one depends on timing; both must keep everything.
            var stats = collection.Stats();
            Assert.True(stats.SegmentsCount > 1 || stats.IndexedVectorsCount == model.Count, $"segments {stats.SegmentsCount}, indexed {stats.IndexedVectorsCount} of {model.Count}");
        }
        finally
        {
            await catalog.DisposeAsync();
        }
    }
}
