using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Quiver.Engine.Catalog;
using Quiver.Engine.Collections;
using Quiver.Engine.Operations;
using Quiver.Engine.Query;
using Quiver.Engine.Tests.Infrastructure;
using Quiver.Segment.Payloads;
using Quiver.Segment.Points;
using Quiver.Segment.Segments;
using Xunit.Abstractions;

namespace Quiver.Engine.Tests.Shards;

/// <summary>
/// Scalar quantization through the engine: codes built with the indexed segment and walked instead of the vectors,
/// rescored, persisted and reloaded, and rebuilt or dropped in the background when the config changes.
/// </summary>
public sealed class QuantizedSearchTests(ITestOutputHelper output) : IDisposable
{
    private const int Rows = 10_000;
    private const int Queries = 100;
    private const int Dim = 100;
    private readonly TempDir _temp = new();
    private readonly float[][] _vectors = Datasets.ReadFbin(Path.Combine(Datasets.SharedData, "glove-100-angular", "base.fbin"), Rows);
    private readonly float[][] _queries = Datasets.ReadFbin(Path.Combine(Datasets.SharedData, "glove-100-angular", "query.fbin"), Queries);

    public void Dispose() => _temp.Dispose();

    private CollectionCatalog Open() =>
        CollectionCatalog.Open(new CatalogOptions { StoragePath = _temp.Path, Shards = new() { Fsync = false } }, NullLogger.Instance);

    /// <summary>Loads the slice with indexing off, then switches it on: one indexed segment, built on one thread (deterministic).</summary>
    private async Task<Collection> CreateIndexedAsync(CollectionCatalog catalog, string name, string? quantization)
    {
        var body = $$"""{"vectors":{"size":{{Dim}},"distance":"Cosine"},"hnsw_config":{"m":16,"ef_construct":100,"max_indexing_threads":1,"full_scan_threshold":10},"optimizers_config":{"indexing_threshold":0}{{(quantization is null ? string.Empty : $",\"quantization_config\":{quantization}")}}}""";
        using (var doc = JsonDocument.Parse(body))
            await catalog.CreateAsync(name, CollectionConfig.FromCreateRequest(doc.RootElement), default);
        var collection = catalog.Get(name);
        for (var start = 0; start < Rows; start += 2000)
        {
            var points = Enumerable.Range(start, 2000)
                .Select(i => new PointWrite(PointId.FromNumber((ulong)i), [new NamedVector(string.Empty, _vectors[i])], Payload.Empty))
                .ToArray();
            await collection.ApplyAsync(new UpsertPoints(points), wait: true, default);
        }

        await PatchAsync(catalog, name, """{"optimizers_config":{"indexing_threshold":1}}""");
        await Optimizer.WaitIndexedAsync(collection);
        return collection;
    }

    private static async Task PatchAsync(CollectionCatalog catalog, string name, string patch)
    {
        using var doc = JsonDocument.Parse(patch);
        await catalog.UpdateAsync(name, doc.RootElement, default);
    }

    private static IReadOnlyList<ScoredRecord> Search(Collection collection, float[] query, QuantizationSearch quantization, int ef = 64) =>
        collection.Search(new SearchRequest(new NearestQuery(query, null), string.Empty, null, 10, 0, null, WithPayload.None, WithVector.None, false, ef, Quantization: quantization), default);

    private double Cosine(int row, float[] query)
    {
        var v = _vectors[row];
        double dot = 0, nv = 0, nq = 0;
        for (var i = 0; i < Dim; i++)
        {
            dot += (double)v[i] * query[i];
            nv += (double)v[i] * v[i];
            nq += (double)query[i] * query[i];
        }

        return dot / Math.Sqrt(nv * nq);
    }

    private string[] CodeFiles() => Directory.GetFiles(_temp.Path, "*.codes", SearchOption.AllDirectories);

    private static async Task WaitForAsync(Func<bool> condition, string what)
    {
        for (var i = 0; i < 600 && !condition(); i++)
            await Task.Delay(50);
        Assert.True(condition(), $"timed out waiting for {what}");
    }

    [Fact]
    public async Task Codes_are_walked_and_rescored_to_the_recall_floor_and_ignore_walks_the_vectors()
    {
        await using var catalog = Open();
        var quantized = await CreateIndexedAsync(catalog, "q", """{"scalar":{"type":"int8","always_ram":true}}""");
        var plain = await CreateIndexedAsync(catalog, "plain", null);
        // A row is its code sum (int32) and 100 codes; the buffer ends with one spare block for the padded kernel.
        Assert.Equal((Rows * (sizeof(int) + Dim)) + Kernels.CodeDotKernel.Block, quantized.Memory().CodeBytes);
        Assert.Equal(0, plain.Memory().CodeBytes);

        long hits = 0, hitsCodesOnly = 0;
        var rescoredDiffer = 0;
        for (var q = 0; q < Queries; q++)
        {
            var query = _queries[q];
            var truth = Enumerable.Range(0, Rows).Select(i => Cosine(i, query)).OrderDescending().ElementAt(9);

            var rescored = Search(quantized, query, new QuantizationSearch(false, null, 2));
            Assert.Equal(10, rescored.Count);
            // Rescored hits carry their exact scores, best first.
            foreach (var hit in rescored)
                Assert.Equal(Cosine((int)hit.Id.Number, query), hit.Score, 1e-4);
            Assert.True(rescored.Zip(rescored.Skip(1)).All(p => p.First.Score >= p.Second.Score));
            hits += rescored.Count(h => Cosine((int)h.Id.Number, query) >= truth - 1e-5);

            // Without rescoring the scores are the codes' approximations of them.
            var codesOnly = Search(quantized, query, new QuantizationSearch(false, false, 1));
            hitsCodesOnly += codesOnly.Count(h => Cosine((int)h.Id.Number, query) >= truth - 1e-5);
            foreach (var hit in codesOnly)
                Assert.Equal(Cosine((int)hit.Id.Number, query), hit.Score, 0.02);
            if (codesOnly.Any(h => Math.Abs(h.Score - Cosine((int)h.Id.Number, query)) > 1e-4))
                rescoredDiffer++;

            // ignore: the same graph (one build thread), walked on the vectors, finds what the plain collection finds.
            var ignored = Search(quantized, query, new QuantizationSearch(true, null, 0));
            var reference = Search(plain, query, default);
            Assert.Equal(reference.Select(r => (r.Id, r.Score)), ignored.Select(r => (r.Id, r.Score)));
        }

        var recall = hits / (10.0 * Queries);
        var recallCodes = hitsCodesOnly / (10.0 * Queries);
        output.WriteLine($"recall@10 ef 64: rescored x2 {recall:F4}, codes only {recallCodes:F4}; {rescoredDiffer} queries with approximate scores");
        Assert.True(recall >= 0.98, $"rescored recall {recall:F4}");
        Assert.True(recallCodes >= 0.95, $"codes-only recall {recallCodes:F4}");
        Assert.True(rescoredDiffer > 0, "scores without rescoring should be the codes' approximations");

        // Exact search ignores codes.
        var exact = quantized.Search(new SearchRequest(new NearestQuery(_queries[0], null), string.Empty, null, 10, 0, null, WithPayload.None, WithVector.None, true, Quantization: new QuantizationSearch(false, false, 1)), default);
        Assert.Equal(Enumerable.Range(0, Rows).Select(i => Cosine(i, _queries[0])).OrderDescending().Take(10).ToArray(), exact.Select(r => (double)r.Score).ToArray(), new Tolerance(1e-5));
    }

    [Fact]
    public async Task Codes_survive_a_restart_and_follow_config_changes_in_the_background()
    {
        List<(PointId, float)> before;
        DateTime written;
        await using (var catalog = Open())
        {
            var collection = await CreateIndexedAsync(catalog, "c", """{"scalar":{"type":"int8"}}""");
            before = [.. Search(collection, _queries[1], new QuantizationSearch(false, false, 1)).Select(r => (r.Id, r.Score))];
            var files = CodeFiles();
            Assert.Single(files);
            written = File.GetLastWriteTimeUtc(files[0]);
        }

        await using (var catalog = Open())
        {
            var collection = catalog.Get("c");
            await Optimizer.WaitIndexedAsync(collection);
            // Loaded from the file, not rebuilt: the same scores without rescoring, the file untouched.
            Assert.Equal(before, Search(collection, _queries[1], new QuantizationSearch(false, false, 1)).Select(r => (r.Id, r.Score)));
            Assert.Equal(written, File.GetLastWriteTimeUtc(Assert.Single(CodeFiles())));

            // A quantile changes the bounds: the codes are rebuilt while the segment serves.
            await PatchAsync(catalog, "c", """{"quantization_config":{"scalar":{"type":"int8","quantile":0.99}}}""");
            await WaitForAsync(() => File.GetLastWriteTimeUtc(CodeFiles().Single()) != written && !collection.Stats().Optimizing && !collection.Stats().OptimizationPending, "codes rebuilt");
            Assert.NotEqual(before, Search(collection, _queries[1], new QuantizationSearch(false, false, 1)).Select(r => (r.Id, r.Score)));

            // Disabled: the codes and their file go; searches walk the vectors.
            await PatchAsync(catalog, "c", """{"quantization_config":"Disabled"}""");
            await WaitForAsync(() => collection.Memory().CodeBytes == 0 && CodeFiles().Length == 0, "codes dropped");
            var walked = Search(collection, _queries[1], new QuantizationSearch(false, false, 1));
            Assert.Equal(10, walked.Count);
            Assert.All(walked, r => Assert.Equal(Cosine((int)r.Id.Number, _queries[1]), r.Score, 1e-5));
            Assert.Null(collection.Config.Json["quantization_config"]);
        }
    }

    [Theory]
    [InlineData("""{"binary":{"encoding":"three_bits"}}""", "quantization_config.binary.encoding: expected one of one_bit, two_bits, one_and_half_bits")]
    [InlineData("""{"binary":{"query_encoding":"scalar2bits"}}""", "quantization_config.binary.query_encoding: expected one of")]
    [InlineData("""{"product":{"compression":"x12"}}""", "quantization_config.product.compression: expected one of x4, x8, x16, x32, x64")]
    [InlineData("""{"product":{}}""", "quantization_config.product.compression: missing field")]
    [InlineData("""{"turbo":{}}""", "turbo quantization is not supported yet")]
    [InlineData("""{"scalar":{"type":"int4"}}""", "quantization_config.scalar.type: expected \"int8\"")]
    [InlineData("""{"scalar":{"type":"int8","quantile":0.3}}""", "quantization_config.scalar.quantile: expected a number from 0.5 to 1")]
    [InlineData("""{"scalar":{"type":"int8","always_ram":"yes"}}""", "quantization_config.scalar.always_ram: expected true or false")]
    [InlineData("""{"scalar":{"type":"int8","bits":4}}""", "quantization_config.scalar.bits: unknown setting")]
    [InlineData("""{"scalar":{"type":"int8"},"binary":{}}""", "expected exactly one of scalar, product, binary")]
    [InlineData("\"Disabled\"", "quantization_config: expected an object")]
    public void Bad_quantization_configs_are_refused_with_the_field_named(string config, string message)
    {
        using var doc = JsonDocument.Parse($$"""{"vectors":{"size":4,"distance":"Dot"},"quantization_config":{{config}}}""");
        var error = Assert.Throws<Segment.Errors.QuiverException>(() => CollectionConfig.FromCreateRequest(doc.RootElement));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);

        using var perVector = JsonDocument.Parse("""{"vectors":{"a":{"size":4,"distance":"Dot","quantization_config":""" + config + "}}}");
        error = Assert.Throws<Segment.Errors.QuiverException>(() => CollectionConfig.FromCreateRequest(perVector.RootElement));
        Assert.Contains("vectors.a.quantization_config", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_vector_s_own_quantization_replaces_the_collection_s()
    {
        using var doc = JsonDocument.Parse("""{"vectors":{"a":{"size":4,"distance":"Dot","quantization_config":{"scalar":{"type":"int8","quantile":0.9}}},"b":{"size":4,"distance":"Dot"}},"quantization_config":{"scalar":{"type":"int8"}}}""");
        var config = CollectionConfig.FromCreateRequest(doc.RootElement);
        Assert.Equal(0.9, config.QuantizationFor("a")!.Quantile);
        Assert.Null(config.QuantizationFor("b")!.Quantile);

        // null leaves the config as it is (Qdrant's diff semantics); "Disabled" turns it off.
        using var unchanged = JsonDocument.Parse("""{"quantization_config":null}""");
        Assert.NotNull(config.ApplyUpdate(unchanged.RootElement).QuantizationFor("b"));
        using var patch = JsonDocument.Parse("""{"quantization_config":"Disabled"}""");
        var updated = config.ApplyUpdate(patch.RootElement);
        Assert.Null(updated.QuantizationFor("b"));
        Assert.Equal(0.9, updated.QuantizationFor("a")!.Quantile);
    }

    /// <summary>A quantile of 1 is the whole range: read as unset, so codes learnt without one match and are not rebuilt forever.</summary>
    [Fact]
    public async Task A_quantile_of_one_is_the_whole_range_and_settles()
    {
        using (var doc = JsonDocument.Parse("""{"vectors":{"size":4,"distance":"Dot"},"quantization_config":{"scalar":{"type":"int8","quantile":1}}}"""))
            Assert.Null(CollectionConfig.FromCreateRequest(doc.RootElement).QuantizationFor(string.Empty)!.Quantile);

        await using var catalog = Open();
        var collection = await CreateIndexedAsync(catalog, "one", """{"scalar":{"type":"int8","quantile":1}}""");
        var written = File.GetLastWriteTimeUtc(Assert.Single(CodeFiles()));
        await Task.Delay(300);
        Assert.False(collection.Stats().Optimizing || collection.Stats().OptimizationPending);
        Assert.Equal(written, File.GetLastWriteTimeUtc(Assert.Single(CodeFiles())));
    }

    /// <summary>Product codes through the engine: x8 on the glove slice (50 bytes a row), rescored to the floor.</summary>
    [Fact]
    public async Task Product_codes_are_walked_and_rescored_to_the_floor()
    {
        await using var catalog = Open();
        var collection = await CreateIndexedAsync(catalog, "pq", """{"product":{"compression":"x8","always_ram":true}}""");
        // 50 subspaces of 2 components: a byte a subspace, and 256 centroids of 100 floats in all.
        Assert.Equal((Rows * 50) + (256 * Dim * sizeof(float)), collection.Memory().CodeBytes);
        long hits = 0;
        for (var q = 0; q < Queries; q++)
        {
            var query = _queries[q];
            var kth = Enumerable.Range(0, Rows).Select(i => Cosine(i, query)).OrderDescending().ElementAt(9);
            var found = Search(collection, query, new QuantizationSearch(false, null, 3));
            Assert.All(found, r => Assert.Equal(Cosine((int)r.Id.Number, query), r.Score, 1e-4));
            hits += found.Count(r => r.Score >= kth - 1e-5);
        }

        var recall = hits / (10.0 * Queries);
        output.WriteLine($"glove 10k pq x8 x3 rescored recall@10 {recall:F4}");
        Assert.True(recall >= 0.95, $"recall {recall:F4}");

        // Without rescoring the scores are the codes' table scores: close to the cosine, not equal to it.
        var codesOnly = Search(collection, _queries[0], new QuantizationSearch(false, false, 1));
        var deviations = codesOnly.Select(r => Math.Abs(r.Score - Cosine((int)r.Id.Number, _queries[0]))).ToArray();
        Assert.All(deviations, d => Assert.True(d < 0.1, $"a code score is off by {d}"));
        Assert.Contains(deviations, d => d > 1e-5);
    }

    /// <summary>
    /// Binary codes on SciFact's 384-d MiniLM vectors: walked and rescored to the floor, loaded again after a restart,
    /// and replaced by scalar codes when the config changes kind.
    /// </summary>
    [Fact]
    public async Task Binary_codes_are_walked_rescored_persisted_and_replaced_when_the_kind_changes()
    {
        var dir = Path.Combine(Datasets.SharedData, "scifact", "minilm");
        var corpus = Datasets.ReadFbin(Path.Combine(dir, "corpus.fbin"), int.MaxValue);
        var queries = Datasets.ReadFbin(Path.Combine(dir, "queries.fbin"), 100);
        static double Dot(float[] a, float[] b) => a.Zip(b, (x, y) => (double)x * y).Sum();
        async Task<Collection> CreateAsync(CollectionCatalog catalog)
        {
            using (var doc = JsonDocument.Parse("""{"vectors":{"size":384,"distance":"Cosine"},"hnsw_config":{"m":16,"ef_construct":100,"max_indexing_threads":1,"full_scan_threshold":10},"optimizers_config":{"indexing_threshold":0},"quantization_config":{"binary":{"encoding":"two_bits","always_ram":true}}}"""))
                await catalog.CreateAsync("bin", CollectionConfig.FromCreateRequest(doc.RootElement), default);
            var collection = catalog.Get("bin");
            var points = corpus.Select((v, i) => new PointWrite(PointId.FromNumber((ulong)i), [new NamedVector(string.Empty, v)], Payload.Empty)).ToArray();
            await collection.ApplyAsync(new UpsertPoints(points), wait: true, default);
            await PatchAsync(catalog, "bin", """{"optimizers_config":{"indexing_threshold":1}}""");
            await Optimizer.WaitIndexedAsync(collection);
            return collection;
        }

        List<(PointId, float)> before;
        DateTime written;
        await using (var catalog = Open())
        {
            var collection = await CreateAsync(catalog);
            // 5,183 rows of 768 bits (12 words).
            Assert.Equal(corpus.Length * 12 * sizeof(ulong), collection.Memory().CodeBytes);
            long hits = 0;
            foreach (var query in queries)
            {
                var kth = corpus.Select(v => Dot(v, query)).OrderDescending().ElementAt(9);
                var found = Search(collection, query, new QuantizationSearch(false, null, 8));
                Assert.All(found, r => Assert.Equal(Dot(corpus[(int)r.Id.Number], query), r.Score, 1e-4));
                hits += found.Count(r => r.Score >= kth - 1e-5);
            }

            var recall = hits / (10.0 * queries.Length);
            output.WriteLine($"scifact two_bits x8 rescored recall@10 {recall:F4}");
            Assert.True(recall >= 0.95, $"recall {recall:F4}");

            // Hamming similarities are not cosine scores: binary codes are rescored even when asked not to be.
            var codesOnly = Search(collection, queries[0], new QuantizationSearch(false, false, 1));
            Assert.All(codesOnly, r => Assert.Equal(Dot(corpus[(int)r.Id.Number], queries[0]), r.Score, 1e-4));
            Assert.True(codesOnly.Zip(codesOnly.Skip(1)).All(p => p.First.Score >= p.Second.Score));
            before = [.. codesOnly.Select(r => (r.Id, r.Score))];
            written = File.GetLastWriteTimeUtc(Assert.Single(CodeFiles()));
        }

        await using (var catalog = Open())
        {
            var collection = catalog.Get("bin");
            await Optimizer.WaitIndexedAsync(collection);
            Assert.Equal(before, Search(collection, queries[0], new QuantizationSearch(false, false, 1)).Select(r => (r.Id, r.Score)));
            Assert.Equal(written, File.GetLastWriteTimeUtc(Assert.Single(CodeFiles())));

            // Binary to scalar: the codes are rebuilt as int8 (100 codes + a sum a row, and one spare block).
            await PatchAsync(catalog, "bin", """{"quantization_config":{"scalar":{"type":"int8"}}}""");
            await WaitForAsync(() => collection.Memory().CodeBytes == (corpus.Length * (384 + sizeof(int))) + Kernels.CodeDotKernel.Block && !collection.Stats().Optimizing, "scalar codes");
            var scalar = Search(collection, queries[0], new QuantizationSearch(false, false, 1));
            Assert.All(scalar, r => Assert.Equal(Dot(corpus[(int)r.Id.Number], queries[0]), r.Score, 0.02));
        }
    }

    private sealed class Tolerance(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;

        public int GetHashCode(double obj) => 0;
    }
}
