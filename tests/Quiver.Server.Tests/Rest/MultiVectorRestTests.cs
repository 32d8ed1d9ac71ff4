using System.Net;
using Quiver.Server.Tests.Infrastructure;

namespace Quiver.Server.Tests.Rest;

/// <summary>Multivectors (multivector_config max_sim): storage, retrieval, search and rescoring of prefetched candidates.</summary>
[Collection(ServerCollection.Name)]
public sealed class MultiVectorRestTests(ServerFixture fixture)
{
    private readonly RestClient _client = fixture.Client;

    private async Task<string> SeedAsync()
    {
        var name = await Api.CreateRawAsync(_client, "multi", """
            {"vectors":{"d":{"size":2,"distance":"Dot"},"colbert":{"size":2,"distance":"Dot","multivector_config":{"comparator":"max_sim"}}}}
            """);
        await Api.UpsertAsync(_client, name, """
            [{"id":1,"vector":{"d":[1,0],"colbert":[[1,0],[0,1]]}},
             {"id":2,"vector":{"d":[0.9,0],"colbert":[[1,0]]}},
             {"id":3,"vector":{"d":[0,1],"colbert":[[0.5,0.5],[0,1],[-1,0]]}},
             {"id":4,"vector":{"d":[0.5,0.5]}}]
            """);
        return name;
    }

    [Fact]
    public async Task Max_sim_sums_each_query_vectors_best_match_and_rescores_dense_candidates()
    {
        var name = await SeedAsync();
        var info = Api.Ok(await _client.GetAsync($"/collections/{name}")).Result;
        Assert.Equal("max_sim", info["config"]!["params"]!["vectors"]!["colbert"]!["multivector_config"]!["comparator"]!.GetValue<string>());
        Assert.Equal("[[0.5,0.5],[0,1],[-1,0]]", Api.Ok(await _client.GetAsync($"/collections/{name}/points/3")).Result["vector"]!["colbert"]!.ToJsonString());

        // Query [[1,0],[0,1]]: p1 = 1 + 1, p3 = 0.5 + 1, p2 = 1 + 0; p4 has no multivector.
        Api.AssertRanked(await Api.QueryScoresAsync(_client, name, """{"query":[[1,0],[0,1]],"using":"colbert"}"""), ("1", 2), ("3", 1.5), ("2", 1));
        Api.AssertRanked(await Api.QueryScoresAsync(_client, name, """{"query":{"nearest":[[0,1]]},"using":"colbert","limit":1}"""), ("1", 1));

        // Late interaction: the dense top 2 for [1,0] (1 and 2) rescored by max_sim.
        Api.AssertRanked(
            await Api.QueryScoresAsync(_client, name, """{"prefetch":{"query":[1,0],"using":"d","limit":2},"query":[[0,1],[0,1]],"using":"colbert"}"""),
            ("1", 2), ("2", 0));

        // A point's stored multivector as the query (the point itself left out): p1's [[1,0],[0,1]].
        Api.AssertRanked(await Api.QueryScoresAsync(_client, name, """{"query":1,"using":"colbert"}"""), ("3", 1.5), ("2", 1));

        // Replacing and deleting a multivector.
        Api.Ok(await _client.PutAsync($"/collections/{name}/points/vectors?wait=true", """{"points":[{"id":2,"vector":{"colbert":[[0,1],[0,1]]}}]}"""));
        Api.Ok(await _client.PostAsync($"/collections/{name}/points/vectors/delete?wait=true", """{"points":[3],"vector":["colbert"]}"""));
        Api.AssertRanked(await Api.QueryScoresAsync(_client, name, """{"query":[[0,1]],"using":"colbert"}"""), ("1", 1), ("2", 1));
    }

    [Fact]
    public async Task Euclid_max_sim_reports_the_root_of_the_summed_squared_distances_and_thresholds_on_that_scale()
    {
        var name = await Api.CreateRawAsync(_client, "multieu", """{"vectors":{"m":{"size":2,"distance":"Euclid","multivector_config":{"comparator":"max_sim"}}}}""");
        await Api.UpsertAsync(_client, name, """[{"id":1,"vector":{"m":[[0,0],[1,0]]}},{"id":2,"vector":{"m":[[3,0]]}},{"id":3,"vector":{"m":[[5,0]]}}]""");
        // Query [[1,0],[3,0]]: p1's nearest squared distances 0 and 4, p2's 4 and 0, p3's 16 and 4.
        Api.AssertRanked(await Api.QueryScoresAsync(_client, name, """{"query":[[1,0],[3,0]],"using":"m"}"""), ("1", 2), ("2", 2), ("3", Math.Sqrt(20)));
        Api.AssertRanked(await Api.QueryScoresAsync(_client, name, """{"query":[[1,0],[3,0]],"using":"m","score_threshold":3}"""), ("1", 2), ("2", 2));
        // Rescoring prefetched points reports the same scale.
        Api.AssertRanked(
            await Api.QueryScoresAsync(_client, name, """{"prefetch":{"query":[[1,0]],"using":"m","limit":3},"query":[[1,0],[3,0]],"using":"m","limit":2}"""),
            ("1", 2), ("2", 2));
        Api.Error(await _client.PostAsync($"/collections/{name}/points/query", """{"query":{"recommend":{"positive":[[[1,0]]]}},"using":"m"}"""), HttpStatusCode.BadRequest, "multivector");
    }

    [Theory]
    [InlineData("""{"points":[{"id":9,"vector":{"colbert":[[1,0],[1]]}}]}""", "one size")]
    [InlineData("""{"points":[{"id":9,"vector":{"colbert":[[1,0,0]]}}]}""", "dimension")]
    [InlineData("""{"points":[{"id":9,"vector":{"colbert":[1,0]}}]}""", "multivector")]
    [InlineData("""{"points":[{"id":9,"vector":{"d":[[1,0]]}}]}""", "one vector")]
    public async Task Malformed_multivectors_are_refused_and_change_nothing(string body, string fragment)
    {
        var name = await SeedAsync();
        Api.Error(await _client.PutAsync($"/collections/{name}/points?wait=true", body), HttpStatusCode.BadRequest, fragment);
        Api.Error(await _client.GetAsync($"/collections/{name}/points/9"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Query_shapes_that_do_not_fit_are_refused()
    {
        var name = await SeedAsync();
        Api.Error(await _client.PostAsync($"/collections/{name}/points/query", """{"query":[[1,0]],"using":"d"}"""), HttpStatusCode.BadRequest, "multivector");
        Api.Error(await _client.PostAsync($"/collections/{name}/points/query", """{"query":[1,0],"using":"colbert"}"""), HttpStatusCode.BadRequest, "list of vectors");
        Api.Error(
            await _client.PutAsync($"/collections/{ServerFixture.UniqueName("badmulti")}", """{"vectors":{"m":{"size":2,"distance":"Dot","multivector_config":{"comparator":"min_sim"}}}}"""),
            HttpStatusCode.BadRequest,
            "max_sim");
    }
}
