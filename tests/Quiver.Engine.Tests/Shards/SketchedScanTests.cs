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
/// Indexed segments of wide vectors carry a projection sketch that lets exact scans (filters answered by an index,
/// <c>exact</c> searches) skip rows; the answers stay exactly those of brute force, before and after a restart.
/// </summary>
public sealed class SketchedScanTests : IDisposable
{
    private const int Dim = 288;
    private const int Points = 3000;
    private const int Groups = 20;
    private readonly TempDir _temp = new();

    public void Dispose() => _temp.Dispose();

    private async Task<(CollectionCatalog Catalog, Collection Collection)> OpenAsync(bool create, string distance)
    {
        var catalog = CollectionCatalog.Open(new CatalogOptions { StoragePath = _temp.Path, Shards = new() { Fsync = false } }, NullLogger.Instance);
        if (create)
        {
            // full_scan_threshold (KB) above a group's 150 rows of 1,152 bytes: a one-group filter is an exact scan.
            using var doc = JsonDocument.Parse($$$"""{"vectors":{"size":{{{Dim}}},"distance":"{{{distance}}}"},"optimizers_config":{"indexing_threshold":1},"hnsw_config":{"m":8,"ef_construct":32,"full_scan_threshold":1000}}""");
            await catalog.CreateAsync("c", CollectionConfig.FromCreateRequest(doc.RootElement), default);
        }

        return (catalog, catalog.Get("c"));
    }

    /// <summary>Clustered rows (a few centres plus noise), so top-k sets are tight and most rows far.</summary>
    private static Dictionary<ulong, float[]> Model(int seed)
    {
        var random = new Random(seed);
        var centres = Enumerable.Range(0, 8).Select(_ => Enumerable.Range(0, Dim).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray()).ToArray();
        var model = new Dictionary<ulong, float[]>();
        for (ulong id = 0; id < Points; id++)
        {
            var centre = centres[random.Next(centres.Length)];
            model[id] = [.. centre.Select(c => c + (float)(((random.NextDouble() * 2) - 1) * 0.3))];
        }

        return model;
    }

    [Theory]
    [InlineData("Euclid")]
    [InlineData("Dot")]
    [InlineData("Cosine")]
    public async Task Exact_scans_over_a_sketched_segment_return_brute_force_answers(string distance)
    {
        var model = Model(17);
        var (catalog, collection) = await OpenAsync(create: true, distance);
        try
        {
            await collection.ApplyAsync(new CreateFieldIndex("g", "\"integer\""u8.ToArray()), wait: true, default);
            foreach (var chunk in model.Chunk(500))
            {
                var writes = chunk.Select(p => new PointWrite(PointId.FromNumber(p.Key), [new NamedVector("", p.Value)], Payload.FromUtf8(Encoding.UTF8.GetBytes($$"""{"g":{{p.Key % Groups}}}"""))));
                await collection.ApplyAsync(new UpsertPoints([.. writes]), wait: true, default);
            }

            await Optimizer.WaitIndexedAsync(collection);
            Assert.True(collection.Memory().SketchBytes > 0, $"no sketch was attached {collection.Stats()} {collection.Memory()}");
            // Some points deleted after indexing must never come back.
            var deleted = model.Keys.Where(id => id % 13 == 5).ToArray();
            await collection.ApplyAsync(new DeletePoints(PointSelector.ByIds([.. deleted.Select(PointId.FromNumber)])), wait: true, default);
            foreach (var id in deleted)
                model.Remove(id);
            AssertBruteForce(collection, model, distance);

            await catalog.DisposeAsync();
            (catalog, collection) = await OpenAsync(create: false, distance);
            Assert.True(collection.Memory().SketchBytes > 0, "the sketch was not loaded");
            AssertBruteForce(collection, model, distance);
        }
        finally
        {
            await catalog.DisposeAsync();
        }
    }

    private static void AssertBruteForce(Collection collection, Dictionary<ulong, float[]> model, string distance)
    {
        var random = new Random(23);
        var queries = Model(29).Values.Take(25).ToArray();
        for (var q = 0; q < queries.Length; q++)
        {
            var query = queries[q];
            var group = random.Next(Groups);
            using var doc = JsonDocument.Parse($$$"""{"must":[{"key":"g","match":{"value":{{{group}}}}}]}""");
            var filter = FilterParser.Parse(doc.RootElement);
            var filtered = Search(collection, query, filter, exact: false);
            Assert.Equal(Expected(model.Where(p => (int)(p.Key % Groups) == group), query, distance), filtered);
            var exact = Search(collection, query, null, exact: true);
            Assert.Equal(Expected(model, query, distance), exact);
        }
    }

    private static List<ulong> Search(Collection collection, float[] query, Filter? filter, bool exact) =>
        [.. collection.Search(new SearchRequest(new NearestQuery(query, null), "", filter, 10, 0, null, WithPayload.None, WithVector.None, exact, HnswEf: 64), default)
            .Select(r => r.Id.Number)];

    private static List<ulong> Expected(IEnumerable<KeyValuePair<ulong, float[]>> points, float[] query, string distance)
    {
        double Score(float[] v) => distance switch
        {
            "Euclid" => -v.Zip(query, (a, b) => (double)(a - b) * (a - b)).Sum(),
            "Dot" => v.Zip(query, (a, b) => (double)a * b).Sum(),
            _ => v.Zip(query, (a, b) => (double)a * b).Sum() / Math.Sqrt(v.Sum(a => (double)a * a) * query.Sum(b => (double)b * b)),
        };
        return [.. points.OrderByDescending(p => Score(p.Value)).ThenBy(p => p.Key).Take(10).Select(p => p.Key)];
    }
}
