using System.Text.Json.Nodes;
using Qdrant.Client;
using Qdrant.Client.Grpc;
using Quiver.Server.Tests.Infrastructure;
using Quiver.Server.Tests.Rest;

namespace Quiver.Server.Tests.Clients;

/// <summary>
/// Hybrid retrieval through the official .NET client over gRPC: BM25 documents embedded by the server, sparse
/// vectors, multivectors, discovery and RRF fusion, each answer equal to the same request's over REST on a twin.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class DotNetHybridTests(ServerFixture fixture) : IDisposable
{
    private static readonly string[] Texts = ["the cat sat on the mat", "dogs run in the park", "a cat and a dog on a mat", "running cats"];
    private static readonly float[][] Dense = [[1, 0], [0, 1], [0.7f, 0.7f], [0.2f, 0.9f]];
    private static readonly float[][][] Multi = [[[1, 0], [0, 1]], [[1, 0]], [[0.5f, 0.5f], [0, 1]], [[0, 1], [0, 1]]];

    private readonly RestClient _rest = fixture.Client;
    private readonly QdrantClient _grpc = new("127.0.0.1", fixture.Server.GrpcPort, https: false);
    private readonly string _g = ServerFixture.UniqueName("hybridg");
    private readonly string _r = ServerFixture.UniqueName("hybridr");

    public void Dispose() => _grpc.Dispose();

    private async Task SeedAsync()
    {
        await _grpc.CreateCollectionAsync(
            _g,
            new VectorParamsMap
            {
                Map =
                {
                    ["d"] = new VectorParams { Size = 2, Distance = Distance.Dot },
                    ["m"] = new VectorParams { Size = 2, Distance = Distance.Dot, MultivectorConfig = new MultiVectorConfig { Comparator = MultiVectorComparator.MaxSim } },
                },
            },
            sparseVectorsConfig: new SparseVectorConfig { Map = { ["bm25"] = new SparseVectorParams { Modifier = Modifier.Idf } } });
        var points = new List<PointStruct>();
        for (var i = 0; i < Texts.Length; i++)
        {
            var named = new NamedVectors();
            named.Vectors.Add("d", Dense[i]);
            named.Vectors.Add("m", Multi[i]);
            named.Vectors.Add("bm25", new Document { Text = Texts[i], Model = "qdrant/bm25" });
            points.Add(new PointStruct { Id = (ulong)(i + 1), Vectors = new Vectors { Vectors_ = named } });
        }

        await _grpc.UpsertAsync(_g, points);

        Api.Ok(await _rest.PutAsync($"/collections/{_r}", """
            {"vectors":{"d":{"size":2,"distance":"Dot"},"m":{"size":2,"distance":"Dot","multivector_config":{"comparator":"max_sim"}}},"sparse_vectors":{"bm25":{"modifier":"idf"}}}
            """));
        var restPoints = new JsonArray([.. Texts.Select((t, i) => (JsonNode)new JsonObject
        {
            ["id"] = i + 1,
            ["vector"] = new JsonObject
            {
                ["d"] = new JsonArray([.. Dense[i].Select(x => (JsonNode)x)]),
                ["m"] = new JsonArray([.. Multi[i].Select(r => (JsonNode)new JsonArray([.. r.Select(x => (JsonNode)x)]))]),
                ["bm25"] = new JsonObject { ["text"] = t, ["model"] = "qdrant/bm25" },
            },
        })]);
        await Api.UpsertAsync(_rest, _r, restPoints.ToJsonString());
    }

    private async Task AssertSameAsync(IReadOnlyList<ScoredPoint> grpc, string restBody, params ulong[] expectedIds)
    {
        var rest = await Api.QueryScoresAsync(_rest, _r, restBody);
        Assert.Equal(expectedIds, grpc.Select(p => p.Id.Num));
        Assert.Equal(rest.Select(r => r.Id), grpc.Select(p => p.Id.Num.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal(rest.Select(r => (float)r.Score), grpc.Select(p => p.Score));
    }

    [Fact]
    public async Task Documents_sparse_multivector_discover_and_fusion_answer_as_over_rest()
    {
        await SeedAsync();
        // BM25: "cat mat" -> stems cat, mat; documents 1 and 3 have both, 4 has cat (cats -> cat).
        var bm25 = await _grpc.QueryAsync(_g, query: (VectorInput)new Document { Text = "cat mat", Model = "bm25" }, usingVector: "bm25");
        await AssertSameAsync(bm25, """{"query":{"text":"cat mat","model":"bm25"},"using":"bm25"}""", [.. bm25.Select(p => p.Id.Num)]);
        Assert.Equal([1ul, 3ul, 4ul], bm25.Select(p => p.Id.Num).Order());

        // max_sim [[1,0],[0,1]]: 1 -> 2, 3 -> 1.5, 2 -> 1, 4 -> 1.
        var multi = await _grpc.QueryAsync(_g, query: (VectorInput)new float[][] { [1, 0], [0, 1] }, usingVector: "m");
        await AssertSameAsync(multi, """{"query":[[1,0],[0,1]],"using":"m"}""", 1, 3, 2, 4);
        Assert.Equal(2f, multi[0].Score);

        var discover = await _grpc.QueryAsync(
            _g,
            query: new DiscoverInput { Target = new float[] { 0, 1 }, Context = new ContextInput { Pairs = { new ContextInputPair { Positive = new float[] { 0, 1 }, Negative = new float[] { 1, 0 } } } } },
            usingVector: "d");
        await AssertSameAsync(discover, """{"query":{"discover":{"target":[0,1],"context":[{"positive":[0,1],"negative":[1,0]}]}},"using":"d"}""", 2, 4, 3, 1);

        var fused = await _grpc.QueryAsync(
            _g,
            query: Fusion.Rrf,
            prefetch:
            [
                new PrefetchQuery { Query = (VectorInput)new Document { Text = "cat mat", Model = "qdrant/bm25" }, Using = "bm25", Limit = 3 },
                new PrefetchQuery { Query = new float[] { 1, 0 }, Using = "d", Limit = 3 },
            ]);
        await AssertSameAsync(fused, """
            {"prefetch":[{"query":{"text":"cat mat","model":"qdrant/bm25"},"using":"bm25","limit":3},{"query":[1,0],"using":"d","limit":3}],"query":{"fusion":"rrf"}}
            """, [.. fused.Select(p => p.Id.Num)]);
        Assert.Equal(1ul, fused[0].Id.Num);
    }

    [Fact]
    public async Task A_text_index_with_a_snowball_stemmer_and_stop_words_is_created_over_grpc()
    {
        await SeedAsync();
        await _grpc.CreatePayloadIndexAsync(_g, "t", PayloadSchemaType.Text, new PayloadIndexParams
        {
            TextIndexParams = new TextIndexParams
            {
                Tokenizer = TokenizerType.Word,
                Stemmer = new StemmingAlgorithm { Snowball = new SnowballParams { Language = "english" } },
                Stopwords = new StopwordsSet { Languages = { "english" } },
            },
        });
        await _grpc.SetPayloadAsync(_g, new Dictionary<string, Value> { ["t"] = "runners were running" }, ids: [1ul]);
        await _grpc.SetPayloadAsync(_g, new Dictionary<string, Value> { ["t"] = "a quiet walk" }, ids: [2ul]);
        // "run" matches "running" through the stem; "were" is a stop word, so it matches nothing.
        Assert.Equal(["1"], await Api.ScrollIdsAsync(_rest, _g, """{"must":[{"key":"t","match":{"text":"run"}}]}"""));
        Assert.Empty(await Api.ScrollIdsAsync(_rest, _g, """{"must":[{"key":"t","match":{"text":"were"}}]}"""));
    }
}
