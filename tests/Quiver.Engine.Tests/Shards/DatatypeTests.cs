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
/// datatype float16 and uint8: values are rounded to the datatype on insert (or refused when it cannot hold them),
/// indexed segments hold their rows in two bytes or one a component, in memory or mapped from their vector file,
/// and every search (graph, exact, filtered, rescoring) scores exactly the stored values, across restarts.
/// </summary>
public sealed class DatatypeTests : IDisposable
{
    private const int Dim = 16;
    private const int Points = 3000;
    private readonly TempDir _temp = new();

    public void Dispose() => _temp.Dispose();

    /// <summary>Values a float16 stores approximately: tiny (subnormal), ordinary and large components.</summary>
    private static float[] HalfValues(Random random) =>
        [.. Enumerable.Range(0, Dim).Select(i => (float)((random.NextDouble() * 2) - 1) * (i % 4 == 0 ? 1e-5f : i % 4 == 3 ? 900f : 1f))];

    private static float[] ByteValues(Random random) => [.. Enumerable.Range(0, Dim).Select(_ => (float)random.Next(256))];

    private static async Task<Dictionary<ulong, float[]>> CreateIndexedAsync(CollectionCatalog catalog, string distance, string datatype, Func<Random, float[]> values, string extra = "")
    {
        using (var doc = JsonDocument.Parse($$$"""
            {"vectors":{"size":{{{Dim}}},"distance":"{{{distance}}}","datatype":"{{{datatype}}}"{{{extra}}}},"optimizers_config":{"indexing_threshold":0},"hnsw_config":{"m":8,"ef_construct":64,"full_scan_threshold":1}}
            """))
        {
            await catalog.CreateAsync("c", CollectionConfig.FromCreateRequest(doc.RootElement), default);
        }

        var collection = catalog.Get("c");
        await collection.ApplyAsync(new CreateFieldIndex("g", "\"integer\""u8.ToArray()), wait: true, default);
        var random = new Random(31);
        var written = new Dictionary<ulong, float[]>();
        var writes = new List<PointWrite>();
        for (ulong id = 0; id < Points; id++)
        {
            written[id] = values(random);
            writes.Add(new PointWrite(PointId.FromNumber(id), [new NamedVector("", written[id])], Payload.FromUtf8(System.Text.Encoding.UTF8.GetBytes($$"""{"g":{{id % 10}}}"""))));
        }

        await collection.ApplyAsync(new UpsertPoints([.. writes]), wait: true, default);
        using (var patch = JsonDocument.Parse("""{"optimizers_config":{"indexing_threshold":1}}"""))
            await catalog.UpdateAsync("c", patch.RootElement, default);
        await Optimizer.WaitIndexedAsync(collection);
        return written;
    }

    [Theory]
    [InlineData("Euclid", "float16", 2, "")]
    [InlineData("Dot", "float16", 2, "")]
    [InlineData("Cosine", "float16", 2, "")]
    [InlineData("Manhattan", "float16", 2, ""","on_disk":true""")]
    [InlineData("Euclid", "uint8", 1, "")]
    [InlineData("Dot", "uint8", 1, ""","on_disk":true""")]
    [InlineData("Manhattan", "uint8", 1, "")]
    public async Task Rows_are_stored_compact_and_searched_exactly_across_a_restart(string distance, string datatype, int bytesPerValue, string placement)
    {
        var catalog = _temp.OpenCatalog();
        try
        {
            var written = await CreateIndexedAsync(catalog, distance, datatype, datatype == "uint8" ? ByteValues : HalfValues, placement);
            var stored = written.ToDictionary(p => p.Key, p => Stored(p.Value, distance, datatype));
            var collection = catalog.Get("c");
            AssertCompact(collection, bytesPerValue, mapped: placement.Length > 0);
            AssertStored(collection, stored);
            AssertSearches(collection, stored, distance, new Random(3));

            await catalog.DisposeAsync();
            catalog = _temp.OpenCatalog();
            collection = catalog.Get("c");
            await Optimizer.WaitIndexedAsync(collection);
            AssertCompact(collection, bytesPerValue, mapped: placement.Length > 0);
            AssertStored(collection, stored);
            AssertSearches(collection, stored, distance, new Random(4));
        }
        finally
        {
            await catalog.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_patch_moves_compact_rows_to_their_file_and_back_compact()
    {
        var catalog = _temp.OpenCatalog();
        try
        {
            var written = await CreateIndexedAsync(catalog, "Euclid", "uint8", ByteValues);
            var stored = written.ToDictionary(p => p.Key, p => p.Value);
            var collection = catalog.Get("c");
            AssertCompact(collection, 1, mapped: false);

            // Deleted rows stay deleted through both moves.
            var deleted = stored.Keys.Where(k => k % 11 == 2).ToArray();
            await collection.ApplyAsync(new DeletePoints(PointSelector.ByIds([.. deleted.Select(PointId.FromNumber)])), wait: true, default);
            foreach (var id in deleted)
                stored.Remove(id);

            using (var patch = JsonDocument.Parse("""{"vectors":{"":{"on_disk":true}}}"""))
                await catalog.UpdateAsync("c", patch.RootElement, default);
            await WaitForAsync(() => collection.Memory().MappedVectorBytes == (long)Points * Dim);
            AssertCompact(collection, 1, mapped: true);
            AssertSearches(collection, stored, "Euclid", new Random(12));

            using (var patch = JsonDocument.Parse("""{"vectors":{"":{"on_disk":false}}}"""))
                await catalog.UpdateAsync("c", patch.RootElement, default);
            await WaitForAsync(() => collection.Memory().MappedVectorBytes == 0);
            AssertCompact(collection, 1, mapped: false);
            AssertSearches(collection, stored, "Euclid", new Random(13));
            Assert.Equal(stored.Count, collection.Stats().PointsCount);
        }
        finally
        {
            await catalog.DisposeAsync();
        }
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        for (var i = 0; i < 600 && !condition(); i++)
            await Task.Delay(50);
        Assert.True(condition(), "the optimizer did not move the rows within 30 s");
    }

    [Fact]
    public async Task Filtered_walks_of_the_main_graph_and_of_payload_graphs_read_compact_rows()
    {
        var catalog = _temp.OpenCatalog();
        try
        {
            // payload_m: each value of the indexed "g" (300 points) gets a graph of its own over the compact rows.
            var written = await CreateIndexedAsync(catalog, "Euclid", "float16", HalfValues, ""","hnsw_config":{"payload_m":16}""");
            var stored = written.ToDictionary(p => p.Key, p => Stored(p.Value, "Euclid", "float16"));
            var collection = catalog.Get("c");
            await WaitForAsync(() => collection.Stats() is { Optimizing: false, OptimizationPending: false });
            AssertCompact(collection, 2, mapped: false);
            Assert.True(collection.Memory().GraphBytes > 0);
            var random = new Random(21);
            var hits = 0;
            const int queries = 30;
            for (var q = 0; q < queries; q++)
            {
                var query = HalfValues(random);
                var g = q % 10;
                // One value: its payload graph. Two values (a should): the main graph, checking the filter as it walks.
                foreach (var (json, where) in new (string, Func<ulong, bool>)[]
                {
                    ($$$"""{"must":[{"key":"g","match":{"value":{{{g}}}}}]}""", id => id % 10 == (ulong)g),
                    ($$$"""{"should":[{"key":"g","match":{"value":{{{g}}}}},{"key":"g","match":{"value":{{{(g + 1) % 10}}}}}]}""", id => id % 10 == (ulong)g || id % 10 == (ulong)((g + 1) % 10)),
                })
                {
                    using var doc = JsonDocument.Parse(json);
                    var filter = Quiver.Segment.Filtering.FilterParser.Parse(doc.RootElement);
                    var found = collection.Search(new SearchRequest(new NearestQuery(query, null), "", filter, 10, 0, null, WithPayload.None, WithVector.None, false, HnswEf: 64), default);
                    Assert.All(found, r => Assert.True(where(r.Id.Number), $"point {r.Id.Number} does not match {json}"));
                    foreach (var r in found)
                        Assert.True(Math.Abs(Distance(stored[r.Id.Number], query, "Euclid") - r.Score) <= 1e-4 * Math.Max(1, r.Score), $"point {r.Id.Number} scored {r.Score}");
                    hits += found.Select(r => r.Id.Number).Intersect(BruteForce(stored, query, "Euclid", where).Select(e => e.Id)).Count();
                }
            }

            Assert.True(hits / (20.0 * queries) >= 0.95, $"filtered recall@10 {hits / (20.0 * queries):F3} below 0.95");
            // Every one-value filter walked that value's payload graph.
            Assert.Equal(queries, collection.Shards.Sum(shard => shard.Read(set => set.Segments.Sum(s => s.PayloadGraphSearches))));
        }
        finally
        {
            await catalog.DisposeAsync();
        }
    }

    [Fact]
    public async Task Int8_codes_over_float16_rows_rescore_with_the_stored_values()
    {
        var catalog = _temp.OpenCatalog();
        try
        {
            var written = await CreateIndexedAsync(catalog, "Euclid", "float16", HalfValues, ""","quantization_config":{"scalar":{"type":"int8","always_ram":true}}""");
            var stored = written.ToDictionary(p => p.Key, p => Stored(p.Value, "Euclid", "float16"));
            var collection = catalog.Get("c");
            AssertCompact(collection, 2, mapped: false);
            var random = new Random(8);
            var hits = 0;
            for (var q = 0; q < 40; q++)
            {
                var query = HalfValues(random);
                var found = collection.Search(new SearchRequest(new NearestQuery(query, null), "", null, 10, 0, null, WithPayload.None, WithVector.None, false, HnswEf: 64, Quantization: new QuantizationSearch(false, true, 3)), default);
                var expected = BruteForce(stored, query, "Euclid", null);
                hits += found.Select(r => r.Id.Number).Intersect(expected.Select(e => e.Id)).Count();
                // Rescored scores are the stored values' exact distances.
                foreach (var r in found)
                    Assert.True(Math.Abs(Distance(stored[r.Id.Number], query, "Euclid") - r.Score) <= 1e-5 * Math.Max(1, r.Score), $"point {r.Id.Number} scored {r.Score}");
            }

            Assert.True(hits / 400.0 >= 0.95, $"recall@10 {hits / 400.0:F3} below 0.95");
        }
        finally
        {
            await catalog.DisposeAsync();
        }
    }

    [Fact]
    public async Task Values_a_datatype_cannot_hold_are_refused_and_nothing_is_written()
    {
        var catalog = _temp.OpenCatalog();
        try
        {
            using (var doc = JsonDocument.Parse("""{"vectors":{"h":{"size":2,"distance":"Euclid","datatype":"float16"},"b":{"size":2,"distance":"Dot","datatype":"uint8"}}}"""))
                await catalog.CreateAsync("c", CollectionConfig.FromCreateRequest(doc.RootElement), default);
            var collection = catalog.Get("c");
            foreach (var (name, values, message) in new (string, float[], string)[]
            {
                ("h", [70000f, 1f], "float16 range"),
                ("h", [1f, -65520f], "float16 range"),
                ("b", [256f, 0f], "integers from 0 to 255"),
                ("b", [-1f, 0f], "integers from 0 to 255"),
                ("b", [1.5f, 0f], "integers from 0 to 255"),
            })
            {
                var error = await Assert.ThrowsAsync<QuiverException>(async () =>
                    await collection.ApplyAsync(new UpsertPoints([new PointWrite(PointId.FromNumber(1), [new NamedVector(name, values)], Payload.Empty)]), wait: true, default));
                Assert.Equal(ErrorKind.BadInput, error.Error.Kind);
                Assert.Contains(message, error.Message, StringComparison.Ordinal);
            }

            Assert.Equal(0, collection.Stats().PointsCount);
            await collection.ApplyAsync(new UpsertPoints([new PointWrite(PointId.FromNumber(1), [new NamedVector("h", [65504f, 1.0001f]), new NamedVector("b", [255f, 0f])], Payload.Empty)]), wait: true, default);
            var point = collection.Get([PointId.FromNumber(1)], WithPayload.None, WithVector.All).Single();
            Assert.Equal([65504f, (float)(Half)1.0001f], point.Vectors!.Single(v => v.Name == "h").Values);
            Assert.Equal([255f, 0f], point.Vectors!.Single(v => v.Name == "b").Values);

            foreach (var (body, message) in new[]
            {
                ("""{"vectors":{"size":2,"distance":"Cosine","datatype":"uint8"}}""", "Cosine vectors are stored normalised"),
                ("""{"vectors":{"size":2,"distance":"Dot","datatype":"int4"}}""", "expected one of float32, float16, uint8"),
                ("""{"vectors":{"size":2,"distance":"Dot","datatype":8}}""", "expected one of float32, float16, uint8"),
            })
            {
                using var doc = JsonDocument.Parse(body);
                var error = Assert.Throws<QuiverException>(() => CollectionConfig.FromCreateRequest(doc.RootElement));
                Assert.Contains(message, error.Message, StringComparison.Ordinal);
            }
        }
        finally
        {
            await catalog.DisposeAsync();
        }
    }

    /// <summary>What the collection stores for written values: normalised for Cosine, then rounded to the datatype.</summary>
    private static float[] Stored(float[] values, string distance, string datatype)
    {
        var v = (float[])values.Clone();
        if (distance == "Cosine")
            Quiver.Kernels.VectorMath.Normalize(v);
        return datatype == "float16" ? [.. v.Select(x => (float)(Half)x)] : v;
    }

    /// <summary>The indexed segment holds its rows in the datatype's bytes: in memory, or mapped (then only presence flags stay).</summary>
    private static void AssertCompact(Collection collection, int bytesPerValue, bool mapped)
    {
        long compact = (long)Points * Dim * bytesPerValue;
        var indexed = collection.Footprint().Single(f => f.Kind == "indexed");
        if (mapped)
        {
            Assert.Equal(compact, collection.Memory().MappedVectorBytes);
            Assert.Equal(Points, indexed.VectorBytes);
        }
        else
        {
            Assert.Equal(0, collection.Memory().MappedVectorBytes);
            Assert.Equal(compact + Points, indexed.VectorBytes);
        }
    }

    private static void AssertStored(Collection collection, Dictionary<ulong, float[]> stored)
    {
        var records = collection.Get([.. stored.Keys.Where(k => k % 37 == 0).Select(PointId.FromNumber)], WithPayload.None, WithVector.All);
        Assert.NotEmpty(records);
        foreach (var record in records)
            Assert.Equal(stored[record.Id.Number], record.Vectors!.Single().Values);
    }

    private static void AssertSearches(Collection collection, Dictionary<ulong, float[]> stored, string distance, Random random)
    {
        var hits = 0;
        const int queries = 30;
        var bytes = stored[0].All(v => v == MathF.Round(v) && v >= 0);
        // Inner product over all-positive vectors is the hard case for any HNSW graph: float32 rows of the same
        // values reach the same recall (0.37, measured), so there the walk is checked for exact scores only.
        var floor = bytes && distance == "Dot" ? 0 : 0.95;
        for (var q = 0; q < queries; q++)
        {
            var query = Stored(bytes ? ByteValues(random) : HalfValues(random), distance == "Cosine" ? "Cosine" : "Euclid", "float32");
            var expected = BruteForce(stored, query, distance, null);
            var exact = collection.Search(new SearchRequest(new NearestQuery(query, null), "", null, 10, 0, null, WithPayload.None, WithVector.None, Exact: true), default);
            AssertSameRanking(expected, exact, distance);

            var filter = Quiver.Segment.Filtering.FilterParser.Parse(JsonDocument.Parse("""{"must":[{"key":"g","match":{"value":3}}]}""").RootElement);
            var filtered = collection.Search(new SearchRequest(new NearestQuery(query, null), "", filter, 10, 0, null, WithPayload.None, WithVector.None, Exact: true), default);
            AssertSameRanking(BruteForce(stored, query, distance, id => id % 10 == 3), filtered, distance);

            var graph = collection.Search(new SearchRequest(new NearestQuery(query, null), "", null, 10, 0, null, WithPayload.None, WithVector.None, false, HnswEf: 128), default);
            hits += graph.Select(r => r.Id.Number).Intersect(expected.Select(e => e.Id)).Count();
            foreach (var r in graph)
            {
                var expectedScore = Distance(stored[r.Id.Number], query, distance);
                Assert.True(Math.Abs(expectedScore - r.Score) <= 1e-4 * Math.Max(1, Math.Abs(expectedScore)), $"point {r.Id.Number} scored {r.Score}, expected {expectedScore}");
            }
        }

        Assert.True(hits / (10.0 * queries) >= floor, $"recall@10 {hits / (10.0 * queries):F3} below {floor}");
    }

    /// <summary>The same scores in the same order (ids may swap only where scores tie).</summary>
    private static void AssertSameRanking(IReadOnlyList<(ulong Id, double Score)> expected, IReadOnlyList<ScoredRecord> found, string distance)
    {
        Assert.Equal(expected.Count, found.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            var tolerance = 1e-4 * Math.Max(1, Math.Abs(expected[i].Score));
            Assert.True(Math.Abs(expected[i].Score - found[i].Score) <= tolerance, $"{distance} rank {i}: expected {expected[i].Id} at {expected[i].Score}, got {found[i].Id.Number} at {found[i].Score}");
        }
    }

    private static List<(ulong Id, double Score)> BruteForce(Dictionary<ulong, float[]> stored, float[] query, string distance, Func<ulong, bool>? where) =>
        [.. stored.Where(p => where?.Invoke(p.Key) ?? true)
            .Select(p => (p.Key, Score: Distance(p.Value, query, distance)))
            .OrderBy(p => distance is "Euclid" or "Manhattan" ? p.Score : -p.Score).ThenBy(p => p.Key).Take(10)];

    /// <summary>The API's score: a distance for Euclid and Manhattan, a similarity for Dot and Cosine.</summary>
    private static double Distance(float[] row, float[] query, string distance)
    {
        double sum = 0;
        for (var i = 0; i < row.Length; i++)
        {
            double d = query[i] - row[i];
            sum += distance switch
            {
                "Euclid" => d * d,
                "Manhattan" => Math.Abs(d),
                _ => (double)query[i] * row[i],
            };
        }

        return distance == "Euclid" ? Math.Sqrt(sum) : sum;
    }
}
