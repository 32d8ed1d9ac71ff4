using System.Net;
using System.Text;
using Quiver.Server.Tests.Infrastructure;

namespace Quiver.Server.Tests.Rest;

[Collection(ServerCollection.Name)]
public sealed class ErrorTests(ServerFixture fixture)
{
    private readonly RestClient _client = fixture.Client;

    private async Task<string> SeededAsync(string prefix)
    {
        var name = await Api.CreateAsync(_client, prefix, 4, "Dot");
        await Api.UpsertAsync(_client, name, """[{"id":1,"vector":[1,2,3,4],"payload":{"keep":"me"}}]""");
        return name;
    }

    /// <summary>The collection still holds exactly the seeded point, unchanged.</summary>
    private async Task AssertUnchangedAsync(string name)
    {
        Assert.Equal(["1"], await Api.ScrollIdsAsync(_client, name, "{}"));
        var point = await Api.GetPointAsync(_client, name, "1");
        Api.JsonEqual("""{"keep":"me"}""", point["payload"]);
        Api.VectorEqual([1, 2, 3, 4], point["vector"]);
    }

    [Fact]
    public async Task Wrong_vector_dimension_is_400_and_nothing_written()
    {
        var name = await SeededAsync("err_dim");
        var response = await _client.PutAsync($"/collections/{name}/points?wait=true", """{"points":[{"id":2,"vector":[1,2,3]}]}""");
        Api.Error(response, HttpStatusCode.BadRequest, "dimension");
        await AssertUnchangedAsync(name);
    }

    [Fact]
    public async Task Float32_overflow_is_400()
    {
        var name = await SeededAsync("err_overflow");
        var response = await _client.PutAsync($"/collections/{name}/points?wait=true", """{"points":[{"id":2,"vector":[1,1e39,0,0]}]}""");
        Api.Error(response, HttpStatusCode.BadRequest, "vector");
        await AssertUnchangedAsync(name);
    }

    [Fact]
    public async Task Unknown_collection_is_404_on_every_endpoint()
    {
        var missing = ServerFixture.UniqueName("err_missing");
        var notFound = $"Collection `{missing}` doesn't exist!";
        Api.Error(await _client.GetAsync($"/collections/{missing}"), HttpStatusCode.NotFound, notFound);
        Api.Error(await _client.PutAsync($"/collections/{missing}/points?wait=true", """{"points":[{"id":1,"vector":[1,2,3,4]}]}"""), HttpStatusCode.NotFound, notFound);
        Api.Error(await _client.GetAsync($"/collections/{missing}/points/1"), HttpStatusCode.NotFound, notFound);
        Api.Error(await _client.PostAsync($"/collections/{missing}/points", """{"ids":[1]}"""), HttpStatusCode.NotFound, notFound);
        Api.Error(await _client.PostAsync($"/collections/{missing}/points/scroll", "{}"), HttpStatusCode.NotFound, notFound);
        Api.Error(await _client.PostAsync($"/collections/{missing}/points/count", "{}"), HttpStatusCode.NotFound, notFound);
        Api.Error(await _client.PostAsync($"/collections/{missing}/points/query", """{"query":[1,2,3,4]}"""), HttpStatusCode.NotFound, notFound);
        Api.Error(await _client.PostAsync($"/collections/{missing}/points/delete", """{"points":[1]}"""), HttpStatusCode.NotFound, notFound);
        Api.Error(await _client.PostAsync($"/collections/{missing}/points/payload", """{"payload":{"a":1},"points":[1]}"""), HttpStatusCode.NotFound, notFound);
        Api.Error(await _client.PatchAsync($"/collections/{missing}", """{"optimizers_config":{"indexing_threshold":1}}"""), HttpStatusCode.NotFound, notFound);
        Api.Error(await _client.GetAsync($"/collections/{missing}/aliases"), HttpStatusCode.NotFound, notFound);
    }

    [Fact]
    public async Task Unknown_named_vector_in_upsert_is_400()
    {
        var name = await Api.CreateRawAsync(_client, "err_vecname", """{"vectors":{"a":{"size":2,"distance":"Dot"}}}""");
        var response = await _client.PutAsync($"/collections/{name}/points?wait=true", """{"points":[{"id":1,"vector":{"a":[1,2],"nonexistent_vec":[1,2]}}]}""");
        Api.Error(response, HttpStatusCode.BadRequest, "nonexistent_vec");
        Assert.Equal(0, await Api.CountAsync(_client, name));
    }

    [Fact]
    public async Task Malformed_json_is_400()
    {
        var name = await SeededAsync("err_malformed");
        var response = await _client.SendAsync(HttpMethod.Put, $"/collections/{name}/points?wait=true", """{"points":[{"id":2,"vector":[1,2,3,4]}""");
        Api.Error(response, HttpStatusCode.BadRequest);
        Api.Error(await _client.SendAsync(HttpMethod.Post, $"/collections/{name}/points/query", "{\"query\":[1,2,3,4],}"), HttpStatusCode.BadRequest);
        Api.Error(await _client.SendAsync(HttpMethod.Post, $"/collections/{name}/points/scroll", "not json at all"), HttpStatusCode.BadRequest);
        await AssertUnchangedAsync(name);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("1.5")]
    [InlineData("\"abc\"")]
    [InlineData("18446744073709551616")]
    [InlineData("true")]
    [InlineData("null")]
    public async Task Invalid_point_ids_are_400(string id)
    {
        var name = await SeededAsync("err_id");
        var response = await _client.PutAsync($"/collections/{name}/points?wait=true", $$$"""{"points":[{"id":{{{id}}},"vector":[1,1,1,1]}]}""");
        Api.Error(response, HttpStatusCode.BadRequest, "id");
        await AssertUnchangedAsync(name);
        Api.Error(await _client.PostAsync($"/collections/{name}/points", $$$"""{"ids":[{{{id}}}]}"""), HttpStatusCode.BadRequest, "id");
        Api.Error(await _client.PostAsync($"/collections/{name}/points/delete?wait=true", $$$"""{"points":[1,{{{id}}}]}"""), HttpStatusCode.BadRequest, "id");
        await AssertUnchangedAsync(name);
    }

    [Fact]
    public async Task Invalid_id_in_path_is_400()
    {
        var name = await SeededAsync("err_pathid");
        Api.Error(await _client.GetAsync($"/collections/{name}/points/abc"), HttpStatusCode.BadRequest, "abc");
        Api.Error(await _client.GetAsync($"/collections/{name}/points/-1"), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Oversized_body_is_413()
    {
        var name = await SeededAsync("err_big");
        var builder = new StringBuilder("{\"points\":[{\"id\":2,\"vector\":[1,2,3,4],\"payload\":{\"blob\":\"");
        builder.Append('x', 5 * 1024 * 1024);
        builder.Append("\"}}]}");

        // The server may answer 413 before reading the body and close the connection; with "Expect: 100-continue"
        // the client waits for the verdict before it streams 5 MB, so the 413 is observable instead of a broken pipe.
        using var http = new HttpClient { BaseAddress = fixture.Server.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        using var request = new HttpRequestMessage(HttpMethod.Put, new Uri($"/collections/{name}/points?wait=true", UriKind.Relative))
        {
            Content = new StringContent(builder.ToString(), Encoding.UTF8, "application/json"),
        };
        request.Headers.ExpectContinue = true;
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Api.Error(new RestResponse(response.StatusCode, System.Text.Json.Nodes.JsonNode.Parse(text), text), HttpStatusCode.RequestEntityTooLarge);
        await AssertUnchangedAsync(name);
    }

    [Fact]
    public async Task Body_just_under_the_limit_is_accepted()
    {
        var name = await SeededAsync("err_big_ok");
        var blob = new string('y', (3 * 1024 * 1024) + 512);
        await Api.UpsertAsync(_client, name, $$$"""[{"id":2,"vector":[1,1,1,1],"payload":{"blob":"{{{blob}}}"}}]""");
        var point = await Api.GetPointAsync(_client, name, "2");
        Assert.Equal(blob.Length, point["payload"]!["blob"]!.GetValue<string>().Length);
    }

    [Fact]
    public async Task Deeply_nested_payload_is_400()
    {
        var name = await SeededAsync("err_deep");
        var nested = string.Concat(Enumerable.Repeat("{\"a\":", 200)) + "1" + new string('}', 200);
        var response = await _client.SendAsync(HttpMethod.Put, $"/collections/{name}/points?wait=true",
            $$$"""{"points":[{"id":2,"vector":[1,1,1,1],"payload":{{{nested}}} }]}""");
        Api.Error(response, HttpStatusCode.BadRequest);
        await AssertUnchangedAsync(name);

        var deepFilter = string.Concat(Enumerable.Repeat("{\"must\":[", 200)) + "{\"has_id\":[1]}" + string.Concat(Enumerable.Repeat("]}", 200));
        Api.Error(await _client.SendAsync(HttpMethod.Post, $"/collections/{name}/points/scroll", $$$"""{"filter":{{{deepFilter}}} }"""), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Empty_body_is_400()
    {
        var name = await SeededAsync("err_empty");
        Api.Error(await _client.SendAsync(HttpMethod.Put, $"/collections/{name}/points?wait=true", string.Empty), HttpStatusCode.BadRequest);
        Api.Error(await _client.SendAsync(HttpMethod.Post, $"/collections/{name}/points/query", string.Empty), HttpStatusCode.BadRequest);
        Api.Error(await _client.SendAsync(HttpMethod.Put, $"/collections/{ServerFixture.UniqueName("err_empty_c")}", string.Empty), HttpStatusCode.BadRequest);
        await AssertUnchangedAsync(name);
    }

    [Fact]
    public async Task Upsert_with_one_invalid_point_of_five_writes_nothing()
    {
        var name = await SeededAsync("err_partial");
        var response = await _client.PutAsync($"/collections/{name}/points?wait=true", """
            {"points":[
              {"id":1,"vector":[9,9,9,9],"payload":{"keep":"overwritten"}},
              {"id":2,"vector":[1,1,1,1]},
              {"id":3,"vector":[1,1,1]},
              {"id":4,"vector":[1,1,1,1]},
              {"id":5,"vector":[1,1,1,1]}]}
            """);
        Api.Error(response, HttpStatusCode.BadRequest, "dimension");
        Assert.Equal(1, await Api.CountAsync(_client, name));
        await AssertUnchangedAsync(name);
    }

    [Fact]
    public async Task Columnar_batch_with_mismatched_lengths_is_400()
    {
        var name = await SeededAsync("err_columnar");
        var response = await _client.PutAsync($"/collections/{name}/points?wait=true", """
            {"batch":{"ids":[2,3,4],"vectors":[[1,1,1,1],[2,2,2,2]]}}
            """);
        Api.Error(response, HttpStatusCode.BadRequest);
        await AssertUnchangedAsync(name);
    }

    [Fact]
    public async Task Missing_required_fields_are_400_naming_the_field()
    {
        var name = await SeededAsync("err_required");
        Api.Error(await _client.PutAsync($"/collections/{name}/points?wait=true", """{"points":[{"id":2}]}"""), HttpStatusCode.BadRequest, "vector");
        Api.Error(await _client.PostAsync($"/collections/{name}/points", """{"with_payload":true}"""), HttpStatusCode.BadRequest, "ids");
        Api.Error(await _client.PostAsync($"/collections/{name}/points/payload?wait=true", """{"points":[1]}"""), HttpStatusCode.BadRequest, "payload");
        Api.Error(await _client.PostAsync($"/collections/{name}/points/payload/delete?wait=true", """{"points":[1]}"""), HttpStatusCode.BadRequest, "keys");
        await AssertUnchangedAsync(name);
    }

    [Fact]
    public async Task Invalid_filter_condition_is_400()
    {
        var name = await SeededAsync("err_filter");
        Api.Error(await _client.PostAsync($"/collections/{name}/points/scroll", """{"filter":{"must":[{"key":"a","match":{"bogus":1}}]}}"""), HttpStatusCode.BadRequest);
        Api.Error(await _client.PostAsync($"/collections/{name}/points/count", """{"filter":{"must":[{"key":"a","range":{"gt":"not a number or date"}}]}}"""), HttpStatusCode.BadRequest);
        Api.Error(await _client.PostAsync($"/collections/{name}/points/delete?wait=true", """{"filter":{"must":[{"nonsense":{}}]}}"""), HttpStatusCode.BadRequest);
        await AssertUnchangedAsync(name);
    }

    [Fact]
    public async Task Wrong_json_types_are_400()
    {
        var name = await SeededAsync("err_types");
        Api.Error(await _client.PutAsync($"/collections/{name}/points?wait=true", """{"points":[{"id":2,"vector":[1,"x",3,4]}]}"""), HttpStatusCode.BadRequest, "vector");
        Api.Error(await _client.PutAsync($"/collections/{name}/points?wait=true", """{"points":[{"id":2,"vector":[1,2,3,4],"payload":[1,2]}]}"""), HttpStatusCode.BadRequest, "payload");
        Api.Error(await _client.PostAsync($"/collections/{name}/points/scroll", """{"limit":"ten"}"""), HttpStatusCode.BadRequest, "limit");
        Api.Error(await _client.PostAsync($"/collections/{name}/points/query", """{"query":[1,2,3,4],"limit":-5}"""), HttpStatusCode.BadRequest, "limit");
        await AssertUnchangedAsync(name);
    }

    /// <summary>Assorted invalid bodies: each must be a 400 with the error envelope (never 500) and change nothing.</summary>
    [Theory]
    [InlineData("PUT", "points?wait=true", """{"points":{}}""")]
    [InlineData("PUT", "points?wait=true", """{"points":[{"id":2,"vector":{"a":[1,2,3,4]}}]}""")]
    [InlineData("PUT", "points?wait=true", """{"points":[{"id":2,"vector":[]}]}""")]
    [InlineData("PUT", "points?wait=true", """{"nothing":true}""")]
    [InlineData("PUT", "points?wait=true", "[1,2,3]")]
    [InlineData("POST", "points/query", """{"query":"not a vector"}""")]
    [InlineData("POST", "points/query", """{"query":[1,2,3,4],"filter":"x"}""")]
    [InlineData("POST", "points/query", """{"query":[1,2,3,4],"with_payload":42}""")]
    [InlineData("POST", "points/query/batch", """{"searches":{}}""")]
    [InlineData("POST", "points/scroll", """{"offset":-1}""")]
    [InlineData("POST", "points/scroll", """{"limit":0}""")]
    [InlineData("POST", "points/count", """{"filter":{"must":[{"key":"a","match":{"value":[1,2]}}]}}""")]
    [InlineData("POST", "points/batch?wait=true", """{"operations":[{"delete":{"points":[1]}},{"teleport":{"points":[1]}}]}""")]
    [InlineData("POST", "points/batch?wait=true", """{"operations":[{"delete":{"points":[1]}},{"upsert":{"points":[{"id":-3,"vector":[1,1,1,1]}]}}]}""")]
    [InlineData("POST", "points/payload?wait=true", """{"payload":{"a":1}}""")]
    [InlineData("POST", "points/payload?wait=true", """{"payload":"x","points":[1]}""")]
    [InlineData("POST", "points/delete?wait=true", """{}""")]
    [InlineData("PUT", "points/vectors?wait=true", """{"points":[{"id":1,"vector":[1,2]}]}""")]
    [InlineData("POST", "points/vectors/delete?wait=true", """{"points":[1],"vector":["nonexistent_vec"]}""")]
    public async Task Invalid_requests_are_400_and_change_nothing(string method, string path, string body)
    {
        var name = await SeededAsync("err_fuzz");
        var response = await _client.SendAsync(new HttpMethod(method), $"/collections/{name}/{path}", body);
        Api.Error(response, HttpStatusCode.BadRequest);
        await AssertUnchangedAsync(name);
    }

    [Theory]
    [InlineData("""{"vectors":{"size":-4,"distance":"Cosine"}}""")]
    [InlineData("""{"vectors":{"size":4}}""")]
    [InlineData("""{"vectors":"big"}""")]
    [InlineData("""{"vectors":{"a":{"size":4,"distance":"Cosine"},"b":{"size":"four","distance":"Dot"}}}""")]
    public async Task Invalid_collection_configs_are_400_and_create_nothing(string body)
    {
        var name = ServerFixture.UniqueName("err_cfg");
        Api.Error(await _client.PutAsync($"/collections/{name}", body), HttpStatusCode.BadRequest);
        Api.JsonEqual("""{"exists":false}""", Api.Ok(await _client.GetAsync($"/collections/{name}/exists")).Result);
    }
}
