using System.Net;
using Quiver.Server.Tests.Infrastructure;

namespace Quiver.Server.Tests.Rest;

[Collection(ServerCollection.Name)]
public sealed class CollectionTests(ServerFixture fixture)
{
    private readonly RestClient _client = fixture.Client;

    [Theory]
    [InlineData("Cosine")]
    [InlineData("Dot")]
    [InlineData("Euclid")]
    [InlineData("Manhattan")]
    public async Task Create_with_each_distance_shows_config_in_info(string distance)
    {
        var name = await Api.CreateAsync(_client, "coll_dist", 4, distance);
        var info = Api.Ok(await _client.GetAsync($"/collections/{name}")).Result;
        var vectors = info["config"]!["params"]!["vectors"]!;
        Assert.Equal(4, vectors["size"]!.GetValue<int>());
        Assert.Equal(distance, vectors["distance"]!.GetValue<string>());
    }

    [Fact]
    public async Task Create_named_vectors_shows_each_in_info()
    {
        var name = await Api.CreateRawAsync(_client, "coll_named",
            """{"vectors":{"text":{"size":4,"distance":"Cosine"},"image":{"size":3,"distance":"Euclid"}}}""");
        var vectors = Api.Ok(await _client.GetAsync($"/collections/{name}")).Result["config"]!["params"]!["vectors"]!.AsObject();
        Assert.Equal(["image", "text"], vectors.Select(p => p.Key).Order(StringComparer.Ordinal).ToArray());
        Assert.Equal(4, vectors["text"]!["size"]!.GetValue<int>());
        Assert.Equal("Cosine", vectors["text"]!["distance"]!.GetValue<string>());
        Assert.Equal(3, vectors["image"]!["size"]!.GetValue<int>());
        Assert.Equal("Euclid", vectors["image"]!["distance"]!.GetValue<string>());
    }

    [Fact]
    public async Task Creating_an_existing_collection_is_400()
    {
        var name = await Api.CreateAsync(_client, "coll_dup");
        var again = await _client.PutAsync($"/collections/{name}", """{"vectors":{"size":4,"distance":"Cosine"}}""");
        Api.Error(again, HttpStatusCode.BadRequest, name);
    }

    [Fact]
    public async Task Info_reports_status_counts_defaults_and_empty_schema()
    {
        var name = await Api.CreateAsync(_client, "coll_info");
        await Api.UpsertAsync(_client, name, """
            [{"id":1,"vector":[1,0,0,0]},{"id":2,"vector":[0,1,0,0]},{"id":3,"vector":[0,0,1,0]}]
            """);
        var info = Api.Ok(await _client.GetAsync($"/collections/{name}")).Result;
        Assert.Equal("green", info["status"]!.GetValue<string>());
        Assert.Equal("ok", info["optimizer_status"]!.GetValue<string>());
        Assert.Equal(3, info["points_count"]!.GetValue<long>());
        Assert.True(info["segments_count"]!.GetValue<long>() >= 1, info.ToJsonString());
        Assert.Equal(16, info["config"]!["hnsw_config"]!["m"]!.GetValue<int>());
        Assert.Equal(100, info["config"]!["hnsw_config"]!["ef_construct"]!.GetValue<int>());
        Api.JsonEqual("{}", info["payload_schema"]);
    }

    [Fact]
    public async Task List_contains_created_collection_and_not_deleted_one()
    {
        var name = await Api.CreateAsync(_client, "coll_list");
        var gone = await Api.CreateAsync(_client, "coll_list_gone");
        Api.Ok(await _client.DeleteAsync($"/collections/{gone}"));
        var list = Api.Ok(await _client.GetAsync("/collections")).Result["collections"]!.AsArray();
        var names = list.Select(c => c!["name"]!.GetValue<string>()).ToList();
        Assert.Single(names, n => n == name);
        Assert.DoesNotContain(gone, names);
    }

    [Fact]
    public async Task Exists_reports_true_then_false_after_delete()
    {
        var name = await Api.CreateAsync(_client, "coll_exists");
        Api.JsonEqual("""{"exists":true}""", Api.Ok(await _client.GetAsync($"/collections/{name}/exists")).Result);
        Api.JsonEqual("""{"exists":false}""", Api.Ok(await _client.GetAsync($"/collections/{name}_nope/exists")).Result);
        Assert.True(Api.Ok(await _client.DeleteAsync($"/collections/{name}")).Result.GetValue<bool>());
        Api.JsonEqual("""{"exists":false}""", Api.Ok(await _client.GetAsync($"/collections/{name}/exists")).Result);
    }

    [Fact]
    public async Task Patch_optimizers_config_is_visible_in_info()
    {
        var name = await Api.CreateAsync(_client, "coll_patch");
        var patched = Api.Ok(await _client.PatchAsync($"/collections/{name}", """{"optimizers_config":{"indexing_threshold":20000}}"""));
        Assert.True(patched.Result.GetValue<bool>());
        var info = Api.Ok(await _client.GetAsync($"/collections/{name}")).Result;
        Assert.Equal(20000, info["config"]!["optimizer_config"]!["indexing_threshold"]!.GetValue<long>());

        var again = Api.Ok(await _client.PatchAsync($"/collections/{name}", """{"optimizers_config":{"indexing_threshold":777}}"""));
        Assert.True(again.Result.GetValue<bool>());
        info = Api.Ok(await _client.GetAsync($"/collections/{name}")).Result;
        Assert.Equal(777, info["config"]!["optimizer_config"]!["indexing_threshold"]!.GetValue<long>());
    }

    [Fact]
    public async Task Delete_then_get_is_404_with_qdrant_message_and_data_is_gone()
    {
        var name = await Api.CreateAsync(_client, "coll_del");
        await Api.UpsertAsync(_client, name, """[{"id":1,"vector":[1,0,0,0],"payload":{"a":1}}]""");
        var deleted = Api.Ok(await _client.DeleteAsync($"/collections/{name}"));
        Assert.True(deleted.Result.GetValue<bool>());

        var get = await _client.GetAsync($"/collections/{name}");
        Api.Error(get, HttpStatusCode.NotFound);
        Assert.Equal($"Not found: Collection `{name}` doesn't exist!", get.Error);

        // Re-creating under the same name starts empty.
        Api.Ok(await _client.PutAsync($"/collections/{name}", """{"vectors":{"size":4,"distance":"Cosine"}}"""));
        Assert.Equal(0, await Api.CountAsync(_client, name));
        Api.Error(await _client.GetAsync($"/collections/{name}/points/1"), HttpStatusCode.NotFound);
        Api.Ok(await _client.DeleteAsync($"/collections/{name}"));
    }

    [Fact]
    public async Task Unknown_distance_is_400()
    {
        var name = ServerFixture.UniqueName("coll_baddist");
        var response = await _client.PutAsync($"/collections/{name}", """{"vectors":{"size":4,"distance":"Hamming"}}""");
        Api.Error(response, HttpStatusCode.BadRequest, "distance");
        Api.JsonEqual("""{"exists":false}""", Api.Ok(await _client.GetAsync($"/collections/{name}/exists")).Result);
    }

    [Fact]
    public async Task Zero_vector_size_is_400()
    {
        var name = ServerFixture.UniqueName("coll_zero");
        var response = await _client.PutAsync($"/collections/{name}", """{"vectors":{"size":0,"distance":"Cosine"}}""");
        Api.Error(response, HttpStatusCode.BadRequest, "size");
        Api.JsonEqual("""{"exists":false}""", Api.Ok(await _client.GetAsync($"/collections/{name}/exists")).Result);
    }
}
