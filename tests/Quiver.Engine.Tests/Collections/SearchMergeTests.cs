using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Quiver.Engine.Catalog;
using Quiver.Engine.Collections;
using Quiver.Engine.Operations;
using Quiver.Engine.Query;
using Quiver.Engine.Tests.Infrastructure;
using Quiver.Segment.Payloads;
using Quiver.Segment.Points;

namespace Quiver.Engine.Tests.Collections;

/// <summary>
/// Search over several shards, each with several segments, on a grid where many points tie: the order is score
/// then id, offset and limit page through it, the threshold cuts it, a query by point id leaves that point out,
/// and payloads and vectors come back with the right points, all exactly as a brute-force model says.
/// </summary>
public sealed class SearchMergeTests : IDisposable
{
    private readonly TempDir _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Multi_shard_multi_segment_search_pages_ties_by_id_and_honours_threshold_and_exclusion()
    {
        await using var catalog = CollectionCatalog.Open(new CatalogOptions { StoragePath = _temp.Path, Shards = new() { Fsync = false } }, NullLogger.Instance);
        // ~1 KB per 128 points of 2 floats: each batch puts ~3.9 KB in every shard, over twice the threshold, so
        // every shard seals and indexes a segment per batch (rather than indexing one live), and nothing merges.
        using (var doc = JsonDocument.Parse("""{"vectors":{"size":2,"distance":"Euclid"},"shard_number":3,"optimizers_config":{"indexing_threshold":1,"default_segment_number":100},"hnsw_config":{"m":8,"ef_construct":32}}"""))
            await catalog.CreateAsync("c", CollectionConfig.FromCreateRequest(doc.RootElement), default);
        var collection = catalog.Get("c");
        var model = new Dictionary<ulong, float[]>();
        for (var batch = 0; batch < 4; batch++)
        {
            var points = new PointWrite[1500];
            for (var i = 0; i < points.Length; i++)
            {
                var id = (ulong)((batch * 1500) + i);
                // A 7 x 5 grid: each position holds ~34 points, so scores tie all the time.
                model[id] = [id % 7, id % 5];
                points[i] = new PointWrite(PointId.FromNumber(id), [new NamedVector(string.Empty, model[id])], Payload.FromUtf8(Encoding.UTF8.GetBytes($$"""{"i":{{id}}}""")));
            }

            await collection.ApplyAsync(new UpsertPoints(points), wait: true, default);
        }

        var deleted = model.Keys.Where(id => id % 13 == 5).Select(PointId.FromNumber).ToArray();
        await collection.ApplyAsync(new DeletePoints(PointSelector.ByIds(deleted)), wait: true, default);
        foreach (var id in deleted)
            model.Remove(id.Number);
        for (var i = 0; i < 600 && (collection.Stats() is { Optimizing: true } or { OptimizationPending: true }); i++)
            await Task.Delay(50);
        Assert.True(collection.Stats().SegmentsCount > 3);

        float[][] queries = [[3, 2], [0, 0], [6.5f, 4.5f], [2.2f, 1.7f]];
        (int Limit, int Offset, float? Threshold)[] pages = [(1, 0, null), (10, 0, null), (7, 5, null), (40, 30, null), (1000, 0, null), (25, 3, 1.6f), (5, 0, 0.1f), (0, 3, null)];
        foreach (var query in queries)
        {
            foreach (var (limit, offset, threshold) in pages)
            {
                var request = new SearchRequest(new NearestQuery(query, null), string.Empty, null, limit, offset, threshold, WithPayload.None, WithVector.None, Exact: true);
                AssertPage(BruteForce(model, query, null, limit, offset, threshold), collection.Search(request, default), $"query ({query[0]}, {query[1]}) limit {limit} offset {offset} threshold {threshold}");
            }
        }

        foreach (var id in new ulong[] { 3, 17, 404, 1199 })
        {
            var request = new SearchRequest(new NearestQuery(null, PointId.FromNumber(id)), string.Empty, null, 12, 2, null, WithPayload.All, WithVector.All, Exact: true);
            var result = collection.Search(request, default);
            AssertPage(BruteForce(model, model[id], id, 12, 2, null), result, $"by id {id}");
            foreach (var record in result)
            {
                Assert.Equal($$"""{"i":{{record.Id.Number}}}""", Encoding.UTF8.GetString(record.Payload!.Utf8));
                Assert.Equal(model[record.Id.Number], record.Vectors![0].Values);
            }
        }
    }

    private static void AssertPage(List<(ulong Id, float Distance)> expected, IReadOnlyList<ScoredRecord> actual, string what)
    {
        Assert.True(expected.Select(e => e.Id).SequenceEqual(actual.Select(r => r.Id.Number)),
            $"{what}: expected [{string.Join(", ", expected.Select(e => e.Id))}], got [{string.Join(", ", actual.Select(r => r.Id.Number))}]");
        for (var i = 0; i < expected.Count; i++)
            Assert.Equal(expected[i].Distance, actual[i].Score, 4);
    }

    private static List<(ulong Id, float Distance)> BruteForce(Dictionary<ulong, float[]> model, float[] query, ulong? exclude, int limit, int offset, float? threshold) =>
        [.. model.Where(p => p.Key != exclude)
            .Select(p => (Id: p.Key, Squared: ((p.Value[0] - query[0]) * (p.Value[0] - query[0])) + ((p.Value[1] - query[1]) * (p.Value[1] - query[1]))))
            .Where(p => threshold is not { } t || MathF.Sqrt(p.Squared) <= t)
            .OrderBy(p => p.Squared).ThenBy(p => p.Id)
            .Skip(offset).Take(limit)
            .Select(p => (p.Id, MathF.Sqrt(p.Squared)))];
}
