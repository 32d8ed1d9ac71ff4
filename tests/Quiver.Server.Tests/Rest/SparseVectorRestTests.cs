using System.Net;
using Quiver.Server.Tests.Infrastructure;

namespace Quiver.Server.Tests.Rest;

/// <summary>
/// Sparse vectors over REST: config, upsert, retrieve, search by dot product (with and without IDF), hybrid fusion
/// with a dense prefetch, rescoring with a sparse vector, and the errors a user gets for wrong shapes.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class SparseVectorRestTests(ServerFixture fixture)
{
    private readonly RestClient _client = fixture.Client;

    // Four documents over a vocabulary of dimensions 1..5; point 5 has only a dense vector.
    private const string Points = """
        [{"id":1,"vector":{"d":[1,0],"s":{"indices":[1,2],"values":[1.0,2.0]}}},
         {"id":2,"vector":{"d":[0,1],"s":{"indices":[2,3],"values":[0.5,1.0]}}},
         {"id":3,"vector":{"d":[1,1],"s":{"indices":[3,1,4],"values":[3.0,1.0,1.0]}}},
         {"id":4,"vector":{"d":[-1,0],"s":{"indices":[5],"values":[4.0]}}},
         {"id":5,"vector":{"d":[1,0.5]}}]
        """;

    private async Task<string> SeedAsync(string modifier)
    {
        var name = await Api.CreateRawAsync(
            _client,
            "sparse",
            """{"vectors":{"d":{"size":2,"distance":"Dot"}},"sparse_vectors":{"s":{"modifier":"MODIFIER","index":{"on_disk":false}}}}""".Replace("MODIFIER", modifier, StringComparison.Ordinal));
        await Api.UpsertAsync(_client, name, Points);
        return name;
    }

    private Task<List<(string Id, double Score)>> QueryAsync(string name, string body) => Api.QueryScoresAsync(_client, name, body);

    [Fact]
    public async Task Sparse_vectors_are_stored_returned_sorted_and_searched_by_dot_product()
    {
        var name = await SeedAsync("none");
        var info = Api.Ok(await _client.GetAsync($"/collections/{name}")).Result;
        Assert.Equal("none", info["config"]!["params"]!["sparse_vectors"]!["s"]!["modifier"]!.GetValue<string>());

        var point = Api.Ok(await _client.GetAsync($"/collections/{name}/points/3")).Result;
        Assert.Equal("""{"indices":[1,3,4],"values":[1,3,1]}""", point["vector"]!["s"]!.ToJsonString());
        Assert.Equal("[1,1]", point["vector"]!["d"]!.ToJsonString());

        // Query {1: 1, 3: 2}: p1 = 1, p2 = 2, p3 = 1 + 6 = 7; p4 shares nothing and is not returned.
        Api.AssertRanked(await QueryAsync(name, """{"query":{"indices":[3,1],"values":[2,1]},"using":"s"}"""), ("3", 7), ("2", 2), ("1", 1));
        Api.AssertRanked(await QueryAsync(name, """{"query":{"indices":[3,1],"values":[2,1]},"using":"s","limit":1,"offset":1}"""), ("2", 2));
        Api.AssertRanked(await QueryAsync(name, """{"query":{"indices":[3,1],"values":[2,1]},"using":"s","score_threshold":1.5}"""), ("3", 7), ("2", 2));
        Api.AssertRanked(
            await QueryAsync(name, """{"query":{"indices":[3,1],"values":[2,1]},"using":"s","filter":{"must":[{"has_id":[1,2]}]}}"""),
            ("2", 2),
            ("1", 1));
        // Nearest to a point's stored sparse vector leaves that point out: p3 = {1:1,3:3,4:1} -> p2 = 3, p1 = 1.
        Api.AssertRanked(await QueryAsync(name, """{"query":3,"using":"s"}"""), ("2", 3), ("1", 1));

        // Updating a sparse vector replaces it; deleting it takes the point out of sparse search.
        Api.Ok(await _client.PutAsync($"/collections/{name}/points/vectors?wait=true", """{"points":[{"id":1,"vector":{"s":{"indices":[3],"values":[10]}}}]}"""));
        Api.Ok(await _client.PostAsync($"/collections/{name}/points/vectors/delete?wait=true", """{"points":[2],"vector":["s"]}"""));
        Api.AssertRanked(await QueryAsync(name, """{"query":{"indices":[3,1],"values":[2,1]},"using":"s"}"""), ("1", 20), ("3", 7));
    }

    [Fact]
    public async Task Idf_weights_each_query_dimension_by_its_document_frequency()
    {
        var name = await SeedAsync("idf");
        // N = 4 points with a sparse vector. Dimension 1 is in p1, p3 (n = 2); dimension 5 in p4 only (n = 1).
        var idf1 = Math.Log(1 + ((4 - 2 + 0.5) / (2 + 0.5)));
        var idf5 = Math.Log(1 + ((4 - 1 + 0.5) / (1 + 0.5)));
        Api.AssertRanked(
            await QueryAsync(name, """{"query":{"indices":[1,5],"values":[1,1]},"using":"s"}"""),
            ("4", 4 * idf5),
            ("1", idf1),
            ("3", idf1));

        // Deleting p3 changes the statistics: dimension 1 is then in 1 of 3 points.
        Api.Ok(await _client.PostAsync($"/collections/{name}/points/delete?wait=true", """{"points":[3]}"""));
        var idf1After = Math.Log(1 + ((3 - 1 + 0.5) / (1 + 0.5)));
        var idf5After = Math.Log(1 + ((3 - 1 + 0.5) / (1 + 0.5)));
        Api.AssertRanked(await QueryAsync(name, """{"query":{"indices":[1,5],"values":[1,1]},"using":"s"}"""), ("4", 4 * idf5After), ("1", idf1After));
    }

    [Fact]
    public async Task Hybrid_rrf_fuses_a_dense_and_a_sparse_prefetch_and_sparse_rescores_dense_candidates()
    {
        var name = await SeedAsync("none");
        // Dense [1,0] by dot: p1 = 1, p3 = 1, p5 = 1, p2 = 0, p4 = -1 (ties by id) -> top 3: 1, 3, 5.
        // Sparse {3:1}: p3 = 3, p2 = 1 -> 3, 2.
        // RRF (k = 2): p1 = 1/2, p3 = 1/3 + 1/2, p5 = 1/4, p2 = 1/3.
        Api.AssertRanked(
            await QueryAsync(name, """
                {"prefetch":[{"query":[1,0],"using":"d","limit":3},{"query":{"indices":[3],"values":[1]},"using":"s","limit":3}],
                 "query":{"fusion":"rrf"},"limit":10}
                """),
            ("3", (1.0 / 3) + (1.0 / 2)),
            ("1", 1.0 / 2),
            ("2", 1.0 / 3),
            ("5", 1.0 / 4));

        // Dense candidates rescored by a sparse query: of 1, 3, 5 only those with a shared dimension remain.
        Api.AssertRanked(
            await QueryAsync(name, """{"prefetch":{"query":[1,0],"using":"d","limit":3},"query":{"indices":[1,4],"values":[1,1]},"using":"s"}"""),
            ("3", 2),
            ("1", 1));
    }

    [Fact]
    public async Task A_sparse_vector_named_text_and_the_columnar_batch_form_are_read_as_vectors()
    {
        var name = await Api.CreateRawAsync(_client, "sparsetext", """{"vectors":{"d":{"size":2,"distance":"Dot"}},"sparse_vectors":{"text":{}}}""");
        await Api.UpsertAsync(_client, name, """[{"id":1,"vector":{"text":{"indices":[7],"values":[2]},"d":[1,0]}}]""");
        Api.Ok(await _client.PutAsync($"/collections/{name}/points?wait=true", """
            {"batch":{"ids":[2,3],"vectors":{"text":[{"indices":[7,8],"values":[1,1]},{"indices":[8],"values":[5]}],"d":[[0,1],[1,1]]}}}
            """));
        Api.AssertRanked(await QueryAsync(name, """{"query":{"indices":[7],"values":[1]},"using":"text"}"""), ("1", 2), ("2", 1));
        Assert.Equal("""{"indices":[8],"values":[5]}""", Api.Ok(await _client.GetAsync($"/collections/{name}/points/3")).Result["vector"]!["text"]!.ToJsonString());
    }

    [Theory]
    [InlineData("""{"points":[{"id":9,"vector":{"s":{"indices":[1,1],"values":[1,2]}}}]}""", "unique")]
    [InlineData("""{"points":[{"id":9,"vector":{"s":{"indices":[1,2],"values":[1]}}}]}""", "same length")]
    [InlineData("""{"points":[{"id":9,"vector":{"s":{"indices":[-1],"values":[1]}}}]}""", "indices[0]")]
    [InlineData("""{"points":[{"id":9,"vector":{"s":[1,2]}}]}""", "sparse")]
    [InlineData("""{"points":[{"id":9,"vector":{"d":{"indices":[1],"values":[1]}}}]}""", "dense")]
    [InlineData("""{"points":[{"id":9,"vector":{"x":{"indices":[1],"values":[1]}}}]}""", "Not existing vector name")]
    public async Task Malformed_sparse_vectors_are_refused_and_change_nothing(string body, string fragment)
    {
        var name = await SeedAsync("none");
        Api.Error(await _client.PutAsync($"/collections/{name}/points?wait=true", body), HttpStatusCode.BadRequest, fragment);
        Api.Error(await _client.GetAsync($"/collections/{name}/points/9"), HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("""{"sparse_vectors":{"s":{"modifier":"bm42"}}}""", "modifier")]
    [InlineData("""{"vectors":{"s":{"size":2,"distance":"Dot"}},"sparse_vectors":{"s":{}}}""", "dense vector")]
    [InlineData("""{"sparse_vectors":{"s":{"index":{"datatype":"int4"}}}}""", "datatype")]
    [InlineData("""{"sparse_vectors":{"s":{"size":3}}}""", "unknown field")]
    public async Task Bad_sparse_configs_are_refused(string body, string fragment) =>
        Api.Error(await _client.PutAsync($"/collections/{ServerFixture.UniqueName("sparsecfg")}", body), HttpStatusCode.BadRequest, fragment);

    [Fact]
    public async Task Query_shapes_that_do_not_fit_the_space_are_refused()
    {
        var name = await SeedAsync("none");
        Api.Error(await _client.PostAsync($"/collections/{name}/points/query", """{"query":{"indices":[1],"values":[1]},"using":"d"}"""), HttpStatusCode.BadRequest, "dense");
        Api.Error(await _client.PostAsync($"/collections/{name}/points/query", """{"query":[1,0],"using":"s"}"""), HttpStatusCode.BadRequest, "sparse");
        // Over prefetched points too: a sparse query cannot rescore by a dense vector (a 400, not a 500).
        Api.Error(
            await _client.PostAsync($"/collections/{name}/points/query", """{"prefetch":{"query":[1,0],"using":"d"},"query":{"indices":[1],"values":[1]},"using":"d"}"""),
            HttpStatusCode.BadRequest,
            "dense");
        Api.Error(await _client.PostAsync($"/collections/{name}/points/query", """{"query":{"nearest":{"indices":[1],"values":[1]},"mmr":{"diversity":0.5}},"using":"s"}"""), HttpStatusCode.BadRequest, "mmr");
        Api.Error(await _client.PostAsync($"/collections/{name}/points/query", """{"query":{"recommend":{"positive":[1]}},"using":"s"}"""), HttpStatusCode.BadRequest, "recommend needs a dense vector");
    }
}
