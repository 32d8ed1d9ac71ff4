using System.Net;
using System.Text.Json.Nodes;
using Quiver.Server.Tests.Infrastructure;

namespace Quiver.Server.Tests.Rest;

/// <summary><c>POST /collections/{name}/facet</c>: value counts from a payload index, filtered, ordered, limited.</summary>
[Collection(ServerCollection.Name)]
public sealed class FacetTests(ServerFixture fixture)
{
    private readonly RestClient _client = fixture.Client;

    private async Task<string> SeedAsync()
    {
        var name = await Api.CreateAsync(_client, "facet", 2, "Dot");
        foreach (var (field, type) in new[] { ("city", "keyword"), ("n", "integer"), ("ok", "bool"), ("tags", "keyword"), ("price", "float") })
            Api.Ok(await _client.PutAsync($"/collections/{name}/index?wait=true", $$$"""{"field_name":"{{{field}}}","field_schema":"{{{type}}}"}"""));
        await Api.UpsertAsync(_client, name, """
            [{"id":1,"vector":[1,0],"payload":{"city":"London","n":1,"ok":true,"tags":["a","b"],"price":1.5}},
             {"id":2,"vector":[1,0],"payload":{"city":"London","n":2,"ok":false,"tags":["a","a"]}},
             {"id":3,"vector":[1,0],"payload":{"city":"Paris","n":1,"ok":true}},
             {"id":4,"vector":[1,0],"payload":{"city":"Berlin","n":1}},
             {"id":5,"vector":[1,0],"payload":{}},
             {"id":6,"vector":[1,0],"payload":{"city":"Paris","n":3,"ok":true}}]
            """);
        return name;
    }

    private async Task<List<(JsonNode? Value, long Count)>> FacetAsync(string name, string body) =>
        [.. Api.Ok(await _client.PostAsync($"/collections/{name}/facet", body)).Result["hits"]!.AsArray()
            .Select(h => (h!["value"], h["count"]!.GetValue<long>()))];

    private static void AssertHits(List<(JsonNode? Value, long Count)> hits, params (object Value, long Count)[] expected)
    {
        Assert.Equal(expected.Length, hits.Count);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i].Count, hits[i].Count);
            Assert.Equal(JsonValue.Create(expected[i].Value)!.ToJsonString(), hits[i].Value!.ToJsonString());
        }
    }

    [Fact]
    public async Task Values_are_counted_per_point_ordered_by_count_then_value_and_filtered()
    {
        var name = await SeedAsync();
        AssertHits(await FacetAsync(name, """{"key":"city"}"""), ("London", 2), ("Paris", 2), ("Berlin", 1));
        AssertHits(await FacetAsync(name, """{"key":"city","limit":2}"""), ("London", 2), ("Paris", 2));
        AssertHits(await FacetAsync(name, """{"key":"city","filter":{"must":[{"key":"ok","match":{"value":true}}]}}"""), ("Paris", 2), ("London", 1));
        AssertHits(await FacetAsync(name, """{"key":"n","exact":true}"""), (1L, 3), (2L, 1), (3L, 1));
        AssertHits(await FacetAsync(name, """{"key":"ok"}"""), (true, 3), (false, 1));
        // A point repeating a value in an array counts once for it.
        AssertHits(await FacetAsync(name, """{"key":"tags"}"""), ("a", 2), ("b", 1));

        Api.Ok(await _client.PostAsync($"/collections/{name}/points/delete?wait=true", """{"points":[1]}"""));
        AssertHits(await FacetAsync(name, """{"key":"city"}"""), ("Paris", 2), ("Berlin", 1), ("London", 1));
    }

    [Theory]
    [InlineData("""{"key":"country"}""", "has none of type keyword")]
    [InlineData("""{"key":"price"}""", "has none of type keyword")]
    [InlineData("""{"limit":3}""", "key")]
    [InlineData("""{"key":"city","limit":0}""", "limit")]
    public async Task Keys_without_a_facet_index_and_bad_requests_are_400(string body, string fragment)
    {
        var name = await SeedAsync();
        Api.Error(await _client.PostAsync($"/collections/{name}/facet", body), HttpStatusCode.BadRequest, fragment);
    }
}
