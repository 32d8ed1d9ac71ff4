using System.Net;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Quiver.Inference;
using Quiver.Server.Tests.Infrastructure;

namespace Quiver.Server.Tests.Rest;

/// <summary>
/// Server-side inference: documents (<c>{"text", "model"}</c>) in upserts and queries become BM25 sparse vectors or
/// all-MiniLM-L6-v2 dense vectors inside the server, and search as vectors given directly would.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class DocumentInferenceTests(ServerFixture fixture)
{
    private readonly RestClient _client = fixture.Client;

    private static readonly string[] Texts =
    [
        "The cat sat on the mat and the cat slept.",
        "Dogs are running in the park with other dogs.",
        "A quiet evening: the mat by the fire, a cat, a book.",
    ];

    [Fact]
    public async Task Bm25_documents_are_stored_as_sparse_vectors_and_queries_score_them_with_idf()
    {
        var name = await Api.CreateRawAsync(_client, "bm25", """{"sparse_vectors":{"bm25":{"modifier":"idf"}}}""");
        var points = new JsonArray([.. Texts.Select((t, i) => (JsonNode)new JsonObject
        {
            ["id"] = i + 1,
            ["vector"] = new JsonObject { ["bm25"] = new JsonObject { ["text"] = t, ["model"] = "qdrant/bm25" } },
        })]);
        await Api.UpsertAsync(_client, name, points.ToJsonString());

        // The stored vector is the encoder's document vector.
        var encoder = new Bm25Encoder();
        var stored = Api.Ok(await _client.GetAsync($"/collections/{name}/points/2")).Result["vector"]!["bm25"]!;
        var expected = encoder.EncodeDocument(Texts[1]);
        Assert.Equal(expected.Indices, stored["indices"]!.AsArray().Select(i => i!.GetValue<uint>()));
        Assert.Equal(expected.Values, stored["values"]!.AsArray().Select(v => v!.GetValue<float>()));

        // "cat on a mat": stop words drop out; cat and mat are in documents 1 and 3 (n = 2 of N = 3).
        var query = encoder.EncodeQuery("cat on a mat");
        Assert.Equal(2, query.Count);
        var idf = Math.Log(1 + ((3 - 2 + 0.5) / (2 + 0.5)));
        double Score(int doc)
        {
            var d = encoder.EncodeDocument(Texts[doc]);
            return query.Indices.Sum(q => Array.IndexOf(d.Indices, q) is var at and >= 0 ? idf * d.Values[at] : 0);
        }

        var found = Api.Ok(await _client.PostAsync($"/collections/{name}/points/query", """{"query":{"text":"cat on a mat","model":"bm25"},"using":"bm25"}""")).Result["points"]!.AsArray();
        // Document 1 says cat twice in fewer words than document 3: it ranks first. Document 2 shares no term.
        Assert.Equal(["1", "3"], found.Select(p => Api.IdText(p!["id"])));
        Assert.Equal(Score(0), found[0]!["score"]!.GetValue<double>(), 4);
        Assert.Equal(Score(2), found[1]!["score"]!.GetValue<double>(), 4);

        // Stemming: "running dog" matches "Dogs are running" through the stems run and dog.
        var dog = Api.Ok(await _client.PostAsync($"/collections/{name}/points/query", """{"query":{"nearest":{"text":"running dog","model":"qdrant/bm25"}},"using":"bm25"}""")).Result["points"]!.AsArray();
        Assert.Equal(["2"], dog.Select(p => Api.IdText(p!["id"])));
    }

    [Fact]
    public async Task MiniLm_documents_embed_as_the_shipped_scifact_embeddings_and_hybrid_rrf_runs_in_one_call()
    {
        var name = await Api.CreateRawAsync(_client, "minilm", """{"vectors":{"dense":{"size":384,"distance":"Cosine"}},"sparse_vectors":{"bm25":{"modifier":"idf"}}}""");
        var corpus = File.ReadLines(Path.Combine(RepoPaths.SharedData, "scifact", "corpus.jsonl")).Take(4)
            .Select(line => JsonDocument.Parse(line).RootElement.Clone()).ToList();
        var points = new JsonArray([.. corpus.Select((doc, i) =>
        {
            // Documents embed as title + " " + text, as the shipped embeddings were made.
            var text = doc.GetProperty("title").GetString() + " " + doc.GetProperty("text").GetString();
            return (JsonNode)new JsonObject
            {
                ["id"] = i,
                ["vector"] = new JsonObject
                {
                    ["dense"] = new JsonObject { ["text"] = text, ["model"] = "sentence-transformers/all-MiniLM-L6-v2" },
                    ["bm25"] = new JsonObject { ["text"] = text, ["model"] = "qdrant/bm25" },
                },
            };
        })]);
        await Api.UpsertAsync(_client, name, points.ToJsonString());

        var shipped = ReadFbin(Path.Combine(RepoPaths.SharedData, "scifact", "minilm", "corpus.fbin"), 4);
        for (var i = 0; i < 4; i++)
        {
            var vector = Api.Ok(await _client.GetAsync($"/collections/{name}/points/{i}")).Result["vector"]!["dense"]!.AsArray().Select(v => v!.GetValue<float>()).ToArray();
            var cosine = vector.Zip(shipped[i]).Sum(p => (double)p.First * p.Second);
            Assert.True(cosine >= 0.999, $"point {i}: cosine {cosine} with the shipped embedding");
        }

        // A query that is a document's own title finds that document first, densely and in the fused ranking.
        var title = corpus[2].GetProperty("title").GetString()!;
        var dense = Api.Ok(await _client.PostAsync($"/collections/{name}/points/query", new JsonObject
        {
            ["query"] = new JsonObject { ["text"] = title, ["model"] = "sentence-transformers/all-MiniLM-L6-v2" },
            ["using"] = "dense",
            ["limit"] = 1,
        }.ToJsonString())).Result["points"]!.AsArray();
        Assert.Equal("2", Api.IdText(dense[0]!["id"]));
        var fused = Api.Ok(await _client.PostAsync($"/collections/{name}/points/query", new JsonObject
        {
            ["prefetch"] = new JsonArray(
                new JsonObject { ["query"] = new JsonObject { ["text"] = title, ["model"] = "sentence-transformers/all-MiniLM-L6-v2" }, ["using"] = "dense", ["limit"] = 4 },
                new JsonObject { ["query"] = new JsonObject { ["text"] = title, ["model"] = "qdrant/bm25" }, ["using"] = "bm25", ["limit"] = 4 }),
            ["query"] = new JsonObject { ["fusion"] = "rrf" },
            ["limit"] = 1,
        }.ToJsonString())).Result["points"]!.AsArray();
        Assert.Equal("2", Api.IdText(fused[0]!["id"]));
        // First in both lists: 1/2 + 1/2 under RRF with k = 2.
        Assert.Equal(1.0, fused[0]!["score"]!.GetValue<double>(), 5);
    }

    [Theory]
    [InlineData("""{"text":"x","model":"openai/ada"}""", "available models are qdrant/bm25")]
    [InlineData("""{"text":"x"}""", "needs a `model`")]
    [InlineData("""{"text":"x","model":"bm25","options":{"k":-1}}""", "k")]
    public async Task Bad_documents_are_refused_with_a_clear_message_and_store_nothing(string document, string fragment)
    {
        var name = await Api.CreateRawAsync(_client, "baddoc", """{"sparse_vectors":{"bm25":{"modifier":"idf"}}}""");
        Api.Error(
            await _client.PutAsync($"/collections/{name}/points?wait=true", $$$"""{"points":[{"id":1,"vector":{"bm25":{{{document}}}}}]}"""),
            HttpStatusCode.BadRequest,
            fragment);
        Api.Error(await _client.GetAsync($"/collections/{name}/points/1"), HttpStatusCode.NotFound);
        Api.Error(await _client.PostAsync($"/collections/{name}/points/query", $$$"""{"query":{{{document}}},"using":"bm25"}"""), HttpStatusCode.BadRequest, fragment);
    }

    private static float[][] ReadFbin(string path, int rows)
    {
        using var stream = File.OpenRead(path);
        Span<byte> header = stackalloc byte[8];
        stream.ReadExactly(header);
        var dim = BitConverter.ToInt32(header[4..]);
        var result = new float[rows][];
        for (var i = 0; i < rows; i++)
        {
            result[i] = new float[dim];
            stream.ReadExactly(MemoryMarshal.AsBytes(result[i].AsSpan()));
        }

        return result;
    }
}
