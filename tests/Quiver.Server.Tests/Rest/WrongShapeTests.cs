using System.Net;
using Quiver.Server.Tests.Infrastructure;

namespace Quiver.Server.Tests.Rest;

/// <summary>Bodies whose fields have the wrong JSON kind, and config changes that cannot be made in place: 4xx, never 500.</summary>
[Collection(ServerCollection.Name)]
public sealed class WrongShapeTests(ServerFixture fixture)
{
    private RestClient Client => fixture.Client;

    [Theory]
    [InlineData("PUT", "/points?wait=true", """{"batch":5}""", "batch")]
    [InlineData("POST", "/points/query", """{"query":[1,0,0,0],"params":5}""", "params")]
    [InlineData("POST", "/points/query", """{"query":{}}""", "query")]
    [InlineData("POST", "/points/query", """{"query":{"nearest":{}}}""", "query")]
    [InlineData("POST", "/points/scroll", """{"order_by":5}""", "order_by")]
    [InlineData("POST", "/points/batch", """{"operations":[{"upsert":5}]}""", "operations[0]")]
    [InlineData("POST", "/points/batch", """{"operations":[{"delete":[1]}]}""", "operations[0]")]
    [InlineData("PUT", "/points/vectors", """{"points":[5]}""", "points[0]")]
    [InlineData("POST", "/points/delete", """{"points":{"a":1}}""", "points")]
    [InlineData("POST", "/points/count", """{"filter":[1]}""", "filter")]
    public async Task Wrong_kinds_are_400_with_the_field_named(string method, string suffix, string body, string field)
    {
        var name = await Api.CreateAsync(Client, "shape");
        await Api.UpsertAsync(Client, name, """[{"id":1,"vector":[1,0,0,0],"payload":{"a":1}}]""");
        var response = await Client.SendAsync(new HttpMethod(method), $"/collections/{name}{suffix}", body);
        Api.Error(response, HttpStatusCode.BadRequest, field);
        Assert.Equal(1, await Api.CountAsync(Client, name));
    }

    [Fact]
    public async Task Alias_actions_of_the_wrong_kind_are_400()
    {
        var response = await Client.PostAsync("/collections/aliases", """{"actions":[5]}""");
        Api.Error(response, HttpStatusCode.BadRequest, "actions[0]");
    }

    [Theory]
    [InlineData("""{"params":{"shard_number":3}}""", "params.shard_number")]
    [InlineData("""{"params":{"vectors":{"size":8,"distance":"Dot"}}}""", "params.vectors")]
    [InlineData("""{"params":5}""", "params")]
    [InlineData("""{"vectors":{"":{"size":8}}}""", "size")]
    [InlineData("""{"vectors":{"":{"datatype":"uint8"}}}""", "datatype")]
    [InlineData("""{"vectors":{"":{"on_disk":"yes"}}}""", "vectors..on_disk")]
    [InlineData("""{"vectors":{"":{"memory":5}}}""", "vectors..memory")]
    [InlineData("""{"vectors":{"":{"hnsw_config":{"m":"16"}}}}""", "hnsw_config.m")]
    [InlineData("""{"hnsw_config":{"on_disk":"true"}}""", "hnsw_config.on_disk")]
    [InlineData("""{"optimizers_config":{"deleted_threshold":"half"}}""", "optimizers_config.deleted_threshold")]
    public async Task Config_that_shapes_storage_cannot_be_patched(string patch, string field)
    {
        var name = await Api.CreateAsync(Client, "patch");
        await Api.UpsertAsync(Client, name, """[{"id":1,"vector":[1,0,0,0]}]""");
        Api.Error(await Client.PatchAsync($"/collections/{name}", patch), HttpStatusCode.BadRequest, field);
        var info = Api.Ok(await Client.GetAsync($"/collections/{name}")).Result;
        Assert.Equal(1, info["config"]!["params"]!["shard_number"]!.GetValue<int>());
        Assert.Equal(4, info["config"]!["params"]!["vectors"]!["size"]!.GetValue<int>());
        await Api.UpsertAsync(Client, name, """[{"id":2,"vector":[0,1,0,0]}]""");
        Assert.Equal(2, await Api.CountAsync(Client, name));
    }

    [Theory]
    [InlineData("Euclid")]
    [InlineData("Manhattan")]
    public async Task Negative_distance_threshold_admits_nothing(string distance)
    {
        var name = await Api.CreateAsync(Client, "thr", distance: distance);
        await Api.UpsertAsync(Client, name, """[{"id":1,"vector":[1,0,0,0]},{"id":2,"vector":[0,1,0,0]}]""");
        var exact = Api.Ok(await Client.PostAsync($"/collections/{name}/points/query", """{"query":[1,0,0,0],"score_threshold":0}""")).Result;
        Assert.Equal(["1"], Api.Ids(exact["points"]));
        var none = Api.Ok(await Client.PostAsync($"/collections/{name}/points/query", """{"query":[1,0,0,0],"score_threshold":-1}""")).Result;
        Assert.Empty(Api.Ids(none["points"]));
    }
}
