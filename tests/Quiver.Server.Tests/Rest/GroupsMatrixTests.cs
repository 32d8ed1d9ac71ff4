using System.Net;
using System.Text.Json.Nodes;
using Quiver.Server.Tests.Infrastructure;

namespace Quiver.Server.Tests.Rest;

/// <summary><c>points/query/groups</c> (group_by, group_size, with_lookup) and <c>points/search/matrix/pairs|offsets</c>, with exact expected results.</summary>
[Collection(ServerCollection.Name)]
public sealed class GroupsMatrixTests(ServerFixture fixture)
{
    private readonly RestClient _client = fixture.Client;

    private async Task<string> SeedGroupsAsync()
    {
        var name = await Api.CreateAsync(_client, "groups", 2, "Dot");
        // Query [1,0] scores each point by its first coordinate.
        await Api.UpsertAsync(_client, name, """
            [{"id":1,"vector":[0.9,0],"payload":{"g":1}},{"id":2,"vector":[0.8,0],"payload":{"g":2}},
             {"id":3,"vector":[0.7,0],"payload":{"g":1}},{"id":4,"vector":[0.6,0],"payload":{"g":1}},
             {"id":5,"vector":[0.5,0],"payload":{"g":3}},{"id":6,"vector":[0.4,0],"payload":{"g":[2,3]}},
             {"id":7,"vector":[0.3,0],"payload":{}}]
            """);
        return name;
    }

    private static List<(string Id, string[] Hits)> Groups(JsonNode result) =>
        [.. result["groups"]!.AsArray().Select(g => (g!["id"]!.ToJsonString(), Api.Ids(g["hits"])))];

    [Fact]
    public async Task Groups_come_in_score_order_with_their_best_points_and_a_point_joins_each_group_of_its_values()
    {
        var name = await SeedGroupsAsync();
        var two = Api.Ok(await _client.PostAsync($"/collections/{name}/points/query/groups", """{"query":[1,0],"group_by":"g","group_size":2,"limit":2,"with_payload":true}""")).Result;
        var groups = Groups(two);
        Assert.Equal(["1", "2"], groups.Select(g => g.Id));
        Assert.Equal(["1", "3"], groups[0].Hits);
        Assert.Equal(["2", "6"], groups[1].Hits);
        Assert.Equal(0.9, two["groups"]![0]!["hits"]![0]!["score"]!.GetValue<double>(), 5);
        Assert.Equal("""{"g":1}""", two["groups"]![0]!["hits"]![0]!["payload"]!.ToJsonString());

        var three = Groups(Api.Ok(await _client.PostAsync($"/collections/{name}/points/query/groups", """{"query":[1,0],"group_by":"g","group_size":2,"limit":3}""")).Result);
        Assert.Equal(["1", "2", "3"], three.Select(g => g.Id));
        Assert.Equal(["5", "6"], three[2].Hits);

        // Filters and prefetches apply before grouping: without point 1 the best point is 2, so group 2 (2 and 6)
        // comes first; the prefetch's five points hold no third member for it.
        var filtered = Groups(Api.Ok(await _client.PostAsync($"/collections/{name}/points/query/groups", """
            {"prefetch":{"query":[1,0],"limit":5},"query":[1,0],"group_by":"g","group_size":3,"limit":1,"filter":{"must_not":[{"has_id":[1]}]}}
            """)).Result);
        Assert.Equal("2", Assert.Single(filtered).Id);
        Assert.Equal(["2", "6"], filtered[0].Hits);
    }

    [Fact]
    public async Task With_lookup_fetches_each_group_value_as_a_point_of_another_collection()
    {
        var name = await SeedGroupsAsync();
        var lookup = await Api.CreateAsync(_client, "lookup", 2, "Dot");
        await Api.UpsertAsync(_client, lookup, """[{"id":1,"vector":[1,1],"payload":{"name":"one"}},{"id":2,"vector":[1,1],"payload":{"name":"two"}}]""");
        var result = Api.Ok(await _client.PostAsync($"/collections/{name}/points/query/groups", $$$"""
            {"query":[1,0],"group_by":"g","group_size":1,"limit":3,"with_lookup":{"collection":"{{{lookup}}}","with_payload":["name"],"with_vectors":false}}
            """)).Result["groups"]!.AsArray();
        Assert.Equal("""{"name":"one"}""", result[0]!["lookup"]!["payload"]!.ToJsonString());
        Assert.Equal("""{"name":"two"}""", result[1]!["lookup"]!["payload"]!.ToJsonString());
        Assert.Null(result[2]!["lookup"]);

        var byName = Api.Ok(await _client.PostAsync($"/collections/{name}/points/query/groups", $$$"""{"query":[1,0],"group_by":"g","limit":1,"with_lookup":"{{{lookup}}}"}""")).Result["groups"]!.AsArray();
        Assert.Equal("1", Api.IdText(byName[0]!["lookup"]!["id"]));
    }

    [Fact]
    public async Task Matrix_pairs_and_offsets_give_each_sampled_points_nearest_others()
    {
        var name = await Api.CreateAsync(_client, "matrix", 2, "Euclid");
        await Api.UpsertAsync(_client, name, """
            [{"id":1,"vector":[0,0],"payload":{"k":"a"}},{"id":2,"vector":[1,0],"payload":{"k":"b"}},{"id":3,"vector":[3,0],"payload":{"k":"a"}},{"id":4,"vector":[7,0],"payload":{"k":"a"}}]
            """);
        var pairs = Api.Ok(await _client.PostAsync($"/collections/{name}/points/search/matrix/pairs", """{"sample":4,"limit":1}""")).Result["pairs"]!.AsArray()
            .Select(p => (Api.IdText(p!["a"]), Api.IdText(p["b"]), p["score"]!.GetValue<double>())).OrderBy(p => p.Item1).ToList();
        Assert.Equal([("1", "2", 1.0), ("2", "1", 1.0), ("3", "2", 2.0), ("4", "3", 4.0)], pairs);

        // The filter picks the sample: without point 2, 1 and 3 are each other's nearest.
        var offsets = Api.Ok(await _client.PostAsync($"/collections/{name}/points/search/matrix/offsets", """{"sample":10,"limit":1,"filter":{"must":[{"key":"k","match":{"value":"a"}}]}}""")).Result;
        var ids = Api.Ids(new JsonArray([.. offsets["ids"]!.AsArray().Select(id => (JsonNode)new JsonObject { ["id"] = id!.DeepClone() })]));
        Assert.Equal(["1", "3", "4"], ids.Order(StringComparer.Ordinal));
        var rows = offsets["offsets_row"]!.AsArray().Select(r => r!.GetValue<int>()).ToArray();
        var cols = offsets["offsets_col"]!.AsArray().Select(c => c!.GetValue<int>()).ToArray();
        var scores = offsets["scores"]!.AsArray().Select(s => s!.GetValue<double>()).ToArray();
        var entries = rows.Select((r, i) => (ids[r], ids[cols[i]], scores[i])).OrderBy(e => e.Item1).ToList();
        Assert.Equal([("1", "3", 3.0), ("3", "1", 3.0), ("4", "3", 4.0)], entries);
    }

    [Theory]
    [InlineData("/points/query/groups", """{"query":[1,0]}""", "group_by")]
    [InlineData("/points/query/groups", """{"query":[1,0],"group_by":"g","group_size":0}""", "group_size")]
    [InlineData("/points/search/matrix/pairs", """{"sample":1}""", "sample")]
    [InlineData("/points/search/matrix/offsets", """{"using":"nope"}""", "nope")]
    public async Task Malformed_groups_and_matrix_requests_are_400(string endpoint, string body, string fragment)
    {
        var name = await SeedGroupsAsync();
        Api.Error(await _client.PostAsync($"/collections/{name}{endpoint}", body), HttpStatusCode.BadRequest, fragment);
    }
}
