using System.Text.Json;
using Quiver.Engine.Collections;
using Quiver.Engine.Operations;
using Quiver.Engine.Query;
using Quiver.Engine.Tests.Infrastructure;
using Quiver.Segment.Payloads;
using Quiver.Segment.Points;
using Quiver.Segment.Segments;

namespace Quiver.Engine.Tests.Shards;

/// <summary>
/// Multivectors: max_sim search equals brute force in the appendable segment, after the optimizer seals and
/// indexes the segment (the multivectors are copied), after vector updates that move points, and after a restart.
/// </summary>
public sealed class MultiVectorTests : IDisposable
{
    private const int Points = 600;
    private const int Dim = 4;
    private readonly TempDir _temp = new();

    public void Dispose() => _temp.Dispose();

    private static MultiVector RandomMulti(Random random)
    {
        var rows = new List<float[]>();
        for (var i = random.Next(1, 5); i > 0; i--)
            rows.Add([.. Enumerable.Range(0, Dim).Select(_ => (float)(random.NextDouble() * 2) - 1)]);
        return MultiVector.Create(rows);
    }

    private static void AssertSearches(Collection collection, Dictionary<ulong, MultiVector> model, int seed)
    {
        var random = new Random(seed);
        for (var q = 0; q < 20; q++)
        {
            var query = RandomMulti(random);
            var expected = model
                .Select(p => (p.Key, Score: PointSegment.MaxSim(query, p.Value, VectorMetric.Dot)))
                .OrderByDescending(p => p.Score).ThenBy(p => p.Key).Take(10).ToList();
            var found = collection.Search(new SearchRequest(new NearestQuery(null, null, null, query), "m", null, 10, 0, null, WithPayload.None, WithVector.None, false), default);
            Assert.Equal(expected.Select(e => PointId.FromNumber(e.Key)), found.Select(f => f.Id));
            Assert.Equal(expected.Select(e => e.Score), found.Select(f => f.Score));
        }
    }

    [Fact]
    public async Task Max_sim_search_equals_brute_force_across_indexing_moves_and_a_restart()
    {
        var catalog = _temp.OpenCatalog();
        try
        {
            using (var doc = JsonDocument.Parse("""
                {"vectors":{"d":{"size":2,"distance":"Dot"},"m":{"size":4,"distance":"Dot","multivector_config":{"comparator":"max_sim"}}},
                 "shard_number":2,"optimizers_config":{"indexing_threshold":0}}
                """))
            {
                await catalog.CreateAsync("c", CollectionConfig.FromCreateRequest(doc.RootElement), default);
            }

            var collection = catalog.Get("c");
            var random = new Random(3);
            var model = new Dictionary<ulong, MultiVector>();
            var writes = new List<PointWrite>();
            for (ulong id = 0; id < Points; id++)
            {
                model[id] = RandomMulti(random);
                writes.Add(new PointWrite(PointId.FromNumber(id), [new NamedVector("d", [1, 0]), NamedVector.OfMulti("m", model[id])], Payload.Empty));
            }

            await collection.ApplyAsync(new UpsertPoints(writes), wait: true, default);
            AssertSearches(collection, model, 1);

            using (var patch = JsonDocument.Parse("""{"optimizers_config":{"indexing_threshold":1}}"""))
                await catalog.UpdateAsync("c", patch.RootElement, default);
            await Optimizer.WaitIndexedAsync(collection);
            AssertSearches(collection, model, 2);

            var changed = new List<PointVectors>();
            foreach (var id in model.Keys.Where(k => k % 9 == 4).ToList())
            {
                model[id] = RandomMulti(random);
                changed.Add(new PointVectors(PointId.FromNumber(id), [NamedVector.OfMulti("m", model[id])]));
            }

            await collection.ApplyAsync(new UpdateVectors(changed), wait: true, default);
            AssertSearches(collection, model, 3);

            await catalog.DisposeAsync();
            catalog = _temp.OpenCatalog();
            AssertSearches(catalog.Get("c"), model, 4);
            var record = Assert.Single(catalog.Get("c").Get([PointId.FromNumber(4)], WithPayload.None, new WithVector(true, ["m"])));
            Assert.Equal(model[4].Values, Assert.Single(record.Vectors!).Multi!.Values);
        }
        finally
        {
            await catalog.DisposeAsync();
        }
    }
}
