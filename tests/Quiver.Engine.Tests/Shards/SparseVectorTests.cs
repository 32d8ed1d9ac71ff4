using System.Text.Json;
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
/// Sparse vector spaces: search equals brute force (dot over shared dimensions, IDF from the live points of the whole
/// collection) in the appendable segment, in indexed segments (inverted index), after deletes and vector updates
/// that move points out of indexed segments, across shards, and after a restart.
/// </summary>
public sealed class SparseVectorTests : IDisposable
{
    private const int Points = 1500;
    private readonly TempDir _temp = new();

    public void Dispose() => _temp.Dispose();

    /// <summary>A random sparse vector over a vocabulary of 200 dimensions, skewed so some dimensions are common.</summary>
    private static SparseVector RandomSparse(Random random)
    {
        var dims = new HashSet<uint>();
        var n = random.Next(1, 12);
        while (dims.Count < n)
            dims.Add((uint)(random.NextDouble() * random.NextDouble() * 200));
        uint[] indices = [.. dims];
        float[] values = [.. indices.Select(_ => (float)Math.Round(random.NextDouble() * 3, 3) + 0.001f)];
        return SparseVector.Create(indices, values);
    }

    private static async Task<Collection> CreateAsync(CollectionCatalog catalog, bool idf, int shards)
    {
        var modifier = idf ? "idf" : "none";
        using var doc = JsonDocument.Parse($$$"""
            {"vectors":{"d":{"size":2,"distance":"Dot"}},"sparse_vectors":{"s":{"modifier":"{{{modifier}}}"}},
             "shard_number":{{{shards}}},"optimizers_config":{"indexing_threshold":0}}
            """);
        await catalog.CreateAsync("c", CollectionConfig.FromCreateRequest(doc.RootElement), default);
        return catalog.Get("c");
    }

    /// <summary>Top 20 by brute force over <paramref name="model"/>, with IDF weights computed from it when asked.</summary>
    private static List<(ulong Id, float Score)> BruteForce(Dictionary<ulong, SparseVector> model, SparseVector query, bool idf, Func<ulong, bool>? filter = null)
    {
        var weights = query.Indices.Select(d =>
        {
            if (!idf)
                return 1f;
            var n = model.Values.Count(v => v.Indices.Contains(d));
            return (float)Math.Log(1 + ((model.Count - n + 0.5) / (n + 0.5)));
        }).ToArray();
        var weighted = query.Weighted(weights);
        return [.. model
            .Where(p => p.Value.Overlaps(weighted) && (filter is null || filter(p.Key)))
            .Select(p => (p.Key, p.Value.Dot(weighted)))
            .OrderByDescending(p => p.Item2).ThenBy(p => p.Key)
            .Take(20)];
    }

    private static void AssertSearches(Collection collection, Dictionary<ulong, SparseVector> model, bool idf, int seed)
    {
        var random = new Random(seed);
        for (var q = 0; q < 30; q++)
        {
            var query = RandomSparse(random);
            var expected = BruteForce(model, query, idf);
            var found = collection.Search(
                new SearchRequest(new NearestQuery(null, null, query), "s", null, 20, 0, null, WithPayload.None, WithVector.None, false),
                default);
            Assert.Equal(expected.Count, found.Count);
            for (var i = 0; i < expected.Count; i++)
            {
                Assert.Equal(expected[i].Score, found[i].Score, 3);
                // Ids agree except where two scores tie to float rounding.
                if (i + 1 < expected.Count && Math.Abs(expected[i].Score - expected[i + 1].Score) > 1e-4 && (i == 0 || Math.Abs(expected[i].Score - expected[i - 1].Score) > 1e-4))
                    Assert.Equal(PointId.FromNumber(expected[i].Id), found[i].Id);
            }
        }
    }

    [Theory]
    [InlineData(false, 1)]
    [InlineData(true, 1)]
    [InlineData(true, 3)]
    public async Task Search_equals_brute_force_before_and_after_indexing_updates_deletes_and_a_restart(bool idf, int shards)
    {
        var catalog = _temp.OpenCatalog();
        try
        {
            var collection = await CreateAsync(catalog, idf, shards);
            var random = new Random(11);
            var model = new Dictionary<ulong, SparseVector>();
            var writes = new List<PointWrite>();
            for (ulong id = 0; id < Points; id++)
            {
                var sparse = RandomSparse(random);
                // Every tenth point has no sparse vector: it counts for no IDF and is never found.
                if (id % 10 != 3)
                    model[id] = sparse;
                NamedVector[] vectors = id % 10 == 3 ? [new NamedVector("d", [1, 0])] : [new NamedVector("d", [1, 0]), NamedVector.OfSparse("s", sparse)];
                writes.Add(new PointWrite(PointId.FromNumber(id), vectors, Payload.Empty));
            }

            await collection.ApplyAsync(new UpsertPoints([.. writes]), wait: true, default);
            AssertSearches(collection, model, idf, 1);

            using (var patch = JsonDocument.Parse("""{"optimizers_config":{"indexing_threshold":1}}"""))
                await catalog.UpdateAsync("c", patch.RootElement, default);
            await Optimizer.WaitIndexedAsync(collection);
            AssertSearches(collection, model, idf, 2);

            // Deletes, new sparse vectors (the points move out of the indexed segment) and a deleted sparse vector.
            var deleted = model.Keys.Where(k => k % 7 == 0).ToArray();
            await collection.ApplyAsync(new DeletePoints(PointSelector.ByIds([.. deleted.Select(PointId.FromNumber)])), wait: true, default);
            foreach (var id in deleted)
                model.Remove(id);
            var updates = model.Keys.Where(k => k % 11 == 5).ToArray();
            var changed = new List<PointVectors>();
            foreach (var id in updates)
            {
                model[id] = RandomSparse(random);
                changed.Add(new PointVectors(PointId.FromNumber(id), [NamedVector.OfSparse("s", model[id])]));
            }

            await collection.ApplyAsync(new UpdateVectors(changed), wait: true, default);
            var dropped = model.Keys.Where(k => k % 13 == 2).ToArray();
            await collection.ApplyAsync(new DeleteVectors(PointSelector.ByIds([.. dropped.Select(PointId.FromNumber)]), ["s"]), wait: true, default);
            foreach (var id in dropped)
                model.Remove(id);
            AssertSearches(collection, model, idf, 3);

            // A point's stored sparse vector reads back as written.
            var some = model.Keys.First(k => k % 11 == 5);
            var record = Assert.Single(collection.Get([PointId.FromNumber(some)], WithPayload.None, new WithVector(true, null)));
            var stored = Assert.Single(record.Vectors!, v => v.IsSparse);
            Assert.True(stored.Sparse!.ContentEquals(model[some]));

            await catalog.DisposeAsync();
            catalog = _temp.OpenCatalog();
            collection = catalog.Get("c");
            AssertSearches(collection, model, idf, 4);

            // Filters apply to sparse search as to dense.
            var query = RandomSparse(new Random(5));
            var filter = new Filter(must: [new HasIdCondition(model.Keys.Where(k => k % 2 == 0).Select(PointId.FromNumber).ToHashSet())]);
            var expected = BruteForce(model, query, idf, k => k % 2 == 0);
            var found = collection.Search(new SearchRequest(new NearestQuery(null, null, query), "s", filter, 20, 0, null, WithPayload.None, WithVector.None, false), default);
            Assert.Equal(expected.Select(e => e.Score), found.Select(f => f.Score), (a, b) => Math.Abs(a - b) < 1e-3);
        }
        finally
        {
            await catalog.DisposeAsync();
        }
    }
}
