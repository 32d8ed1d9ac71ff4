using Microsoft.Extensions.Logging.Abstractions;
using Quiver.Engine.Catalog;
using Quiver.Engine.Collections;
using Quiver.Engine.Operations;
using Quiver.Engine.Query;
using Quiver.Engine.Tests.Infrastructure;
using Quiver.Segment.Payloads;
using Quiver.Segment.Points;

namespace Quiver.Engine.Tests.Collections;

/// <summary>Exact search through the engine returns the true top-k on real GloVe vectors.</summary>
public sealed class ExactSearchGloveTests
{
    [Fact]
    public async Task Exact_search_matches_brute_force_on_10k_glove_vectors()
    {
        const int baseRows = 10_000;
        const int queries = 100;
        const int k = 10;
        var dir = Path.Combine(Datasets.SharedData, "glove-100-angular");
        var vectors = Datasets.ReadFbin(Path.Combine(dir, "base.fbin"), baseRows);
        var queryRows = Datasets.ReadFbin(Path.Combine(dir, "query.fbin"), queries);

        using var temp = new TempDir();
        await using var catalog = CollectionCatalog.Open(new CatalogOptions { StoragePath = temp.Path, Shards = new() { Fsync = false } }, NullLogger.Instance);
        using var doc = System.Text.Json.JsonDocument.Parse("""{"vectors":{"size":100,"distance":"Cosine"}}""");
        await catalog.CreateAsync("glove", CollectionConfig.FromCreateRequest(doc.RootElement), default);
        var collection = catalog.Get("glove");
        for (var start = 0; start < baseRows; start += 1000)
        {
            var points = Enumerable.Range(start, 1000)
                .Select(i => new PointWrite(PointId.FromNumber((ulong)i), [new NamedVector(string.Empty, vectors[i])], Payload.Empty))
                .ToArray();
            await collection.ApplyAsync(new UpsertPoints(points), wait: true, default);
        }

        var norms = vectors.Select(Norm).ToArray();
        for (var q = 0; q < queries; q++)
        {
            var query = queryRows[q];
            var qn = Norm(query);
            // Brute force in double precision: cosine similarity, ties by smaller id.
            var truth = Enumerable.Range(0, baseRows)
                .Select(i => (Id: i, Score: Dot(query, vectors[i]) / (qn * norms[i])))
                .OrderByDescending(t => t.Score).ThenBy(t => t.Id)
                .Take(k)
                .ToArray();
            var result = collection.Search(
                new SearchRequest(new NearestQuery(query, null), string.Empty, null, k, 0, null, WithPayload.None, WithVector.None, Exact: true),
                default);

            Assert.Equal(k, result.Count);
            for (var r = 0; r < k; r++)
            {
                var id = (int)result[r].Id.Number;
                var trueScoreOfReturned = Dot(query, vectors[id]) / (qn * norms[id]);
                // The returned id at rank r is the true rank-r neighbour, up to float32 rounding of exact ties.
                Assert.True(id == truth[r].Id || Math.Abs(trueScoreOfReturned - truth[r].Score) < 1e-6,
                    $"query {q} rank {r}: got {id} ({trueScoreOfReturned}), expected {truth[r].Id} ({truth[r].Score})");
                Assert.Equal(truth[r].Score, result[r].Score, 4);
            }
        }
    }

    private static double Dot(float[] a, float[] b)
    {
        double s = 0;
        for (var i = 0; i < a.Length; i++)
            s += (double)a[i] * b[i];
        return s;
    }

    private static double Norm(float[] v) => Math.Sqrt(Dot(v, v));
}
