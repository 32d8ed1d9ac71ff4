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
/// Qdrant's multitenancy recipe, <c>hnsw_config: {m: 0, payload_m: 8}</c> with a keyword index on the tenant: the
/// optimizer builds one graph per tenant (no main graph), tenant-filtered searches walk it, and the graphs are
/// written with the segment and loaded again after a restart.
/// </summary>
public sealed class PayloadGraphEngineTests : IDisposable
{
    private const int Dim = 12;
    private const int Tenants = 5;
    private readonly TempDir _temp = new();

    public void Dispose() => _temp.Dispose();

    private CollectionCatalog Open() =>
        CollectionCatalog.Open(new CatalogOptions { StoragePath = _temp.Path, Shards = new() { Fsync = false } }, NullLogger.Instance);

    [Fact]
    public async Task Payload_m_without_m_builds_per_tenant_graphs_that_persist()
    {
        var random = new Random(43);
        var model = new Dictionary<ulong, (float[] Vector, int Tenant)>();
        var catalog = Open();
        try
        {
            // full_scan_threshold 1 KB: a tenant's 500 points (24 KB of vectors) are well above it.
            using (var doc = JsonDocument.Parse($$$"""{"vectors":{"size":{{{Dim}}},"distance":"Euclid"},"hnsw_config":{"m":0,"payload_m":8,"ef_construct":64,"full_scan_threshold":1},"optimizers_config":{"indexing_threshold":0}}"""))
                await catalog.CreateAsync("mt", CollectionConfig.FromCreateRequest(doc.RootElement), default);
            var collection = catalog.Get("mt");
            await collection.ApplyAsync(new CreateFieldIndex("tenant", "\"keyword\""u8.ToArray()), wait: true, default);
            var writes = new List<PointWrite>();
            for (ulong id = 0; id < Tenants * 500; id++)
            {
                var tenant = (int)(id % Tenants);
                model[id] = ([.. Enumerable.Range(0, Dim).Select(_ => (float)random.NextDouble())], tenant);
                writes.Add(new PointWrite(PointId.FromNumber(id), [new NamedVector("", model[id].Vector)], Payload.FromUtf8(Encoding.UTF8.GetBytes($$"""{"tenant":"t{{tenant}}"}"""))));
            }

            await collection.ApplyAsync(new UpsertPoints([.. writes]), wait: true, default);
            using (var patch = JsonDocument.Parse("""{"optimizers_config":{"indexing_threshold":1}}"""))
                await catalog.UpdateAsync("mt", patch.RootElement, default);
            await WaitForPayloadGraphsAsync(collection);
            Assert.Equal(0, collection.Stats().IndexedVectorsCount);
            AssertTenantSearches(collection, model, random);

            await catalog.DisposeAsync();
            catalog = Open();
            collection = catalog.Get("mt");
            Assert.Equal(Tenants, PayloadGraphCount(collection));
            AssertTenantSearches(collection, model, random);
        }
        finally
        {
            await catalog.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_live_indexed_segment_switched_to_payload_graphs_only_is_sealed_after_a_restart()
    {
        var random = new Random(47);
        var model = new Dictionary<ulong, (float[] Vector, int Tenant)>();
        var catalog = Open();
        try
        {
            using (var doc = JsonDocument.Parse($$$"""{"vectors":{"size":{{{Dim}}},"distance":"Euclid"},"hnsw_config":{"m":8,"ef_construct":32,"full_scan_threshold":1},"optimizers_config":{"indexing_threshold":10}}"""))
                await catalog.CreateAsync("mt", CollectionConfig.FromCreateRequest(doc.RootElement), default);
            var collection = catalog.Get("mt");
            await collection.ApplyAsync(new CreateFieldIndex("tenant", "\"keyword\""u8.ToArray()), wait: true, default);
            ulong next = 0;
            async Task WriteAsync(int count)
            {
                var writes = new List<PointWrite>();
                for (var i = 0; i < count; i++, next++)
                {
                    var tenant = (int)(next % Tenants);
                    model[next] = ([.. Enumerable.Range(0, Dim).Select(_ => (float)random.NextDouble())], tenant);
                    writes.Add(new PointWrite(PointId.FromNumber(next), [new NamedVector("", model[next].Vector)], Payload.FromUtf8(Encoding.UTF8.GetBytes($$"""{"tenant":"t{{tenant}}"}"""))));
                }

                await collection.ApplyAsync(new UpsertPoints([.. writes]), wait: true, default);
            }

            // Just over the threshold (10 KB = 213 points), well under twice it: the segment is indexed live.
            await WriteAsync(230);
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!collection.Shards.All(sh => sh.Read(set => set.Appendable.IsLiveIndexed)))
            {
                Assert.True(DateTime.UtcNow < deadline, "the appendable segment was not indexed live");
                await Task.Delay(10);
            }

            await WriteAsync(2270);
            using (var patch = JsonDocument.Parse("""{"hnsw_config":{"m":0,"payload_m":8}}"""))
                await catalog.UpdateAsync("mt", patch.RootElement, default);
            await catalog.DisposeAsync();

            // Reloaded append-only, with no graph of its own to link: sealed and rebuilt with one graph per tenant.
            catalog = Open();
            collection = catalog.Get("mt");
            await WaitForPayloadGraphsAsync(collection);
            AssertTenantSearches(collection, model, random);
        }
        finally
        {
            await catalog.DisposeAsync();
        }
    }

    private static int PayloadGraphCount(Collection collection) =>
        collection.Shards.Sum(sh => sh.Read(set => set.Segments.Sum(g => g.PayloadGraphs(0)?.Count ?? 0)));

    private static long PayloadGraphSearches(Collection collection) =>
        collection.Shards.Sum(sh => sh.Read(set => set.Segments.Sum(g => g.PayloadGraphSearches)));

    private static async Task WaitForPayloadGraphsAsync(Collection collection)
    {
        // Payload graphs are built right after the rebuilt segment is swapped in, like sketches.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (PayloadGraphCount(collection) < Tenants)
        {
            Assert.True(DateTime.UtcNow < deadline, $"payload graphs: {PayloadGraphCount(collection)} of {Tenants}");
            await Task.Delay(20);
        }
    }

    private static void AssertTenantSearches(Collection collection, Dictionary<ulong, (float[] Vector, int Tenant)> model, Random random)
    {
        var before = PayloadGraphSearches(collection);
        var hits = 0;
        for (var q = 0; q < 25; q++)
        {
            var tenant = q % Tenants;
            var query = Enumerable.Range(0, Dim).Select(_ => (float)random.NextDouble()).ToArray();
            var filter = new Filter(must: [new FieldCondition(JsonPath.Parse("tenant", "key"), MatchValue.OfKeyword($"t{tenant}"))]);
            var found = collection.Search(new SearchRequest(new NearestQuery(query, null), "", filter, 10, 0, null, WithPayload.None, WithVector.None, false, HnswEf: 64), default);
            Assert.All(found, r => Assert.Equal(tenant, model[r.Id.Number].Tenant));
            var expected = model.Where(p => p.Value.Tenant == tenant)
                .OrderBy(p => p.Value.Vector.Zip(query, (a, b) => (double)(a - b) * (a - b)).Sum()).Take(10).Select(p => p.Key).ToHashSet();
            hits += found.Count(r => expected.Contains(r.Id.Number));
        }

        Assert.Equal(before + 25, PayloadGraphSearches(collection));
        Assert.True(hits >= 250 * 0.95, $"recall {hits / 250.0:F3}");
    }
}
