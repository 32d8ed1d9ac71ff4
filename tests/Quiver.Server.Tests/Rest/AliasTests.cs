using System.Net;
using System.Text.Json.Nodes;
using Quiver.Server.Tests.Infrastructure;

namespace Quiver.Server.Tests.Rest;

[Collection(ServerCollection.Name)]
public sealed class AliasTests(ServerFixture fixture)
{
    private readonly RestClient _client = fixture.Client;

    private Task<RestResponse> AliasesAsync(string actionsJson) => _client.PostAsync("/collections/aliases", $$$"""{"actions":{{{actionsJson}}} }""");

    private static List<(string Alias, string Collection)> Pairs(JsonNode result)
        => result["aliases"]!.AsArray().Select(a => (a!["alias_name"]!.GetValue<string>(), a["collection_name"]!.GetValue<string>())).ToList();

    private async Task<List<(string Alias, string Collection)>> AllAliasesAsync() => Pairs(Api.Ok(await _client.GetAsync("/aliases")).Result);

    private async Task<List<(string Alias, string Collection)>> CollectionAliasesAsync(string collection)
        => Pairs(Api.Ok(await _client.GetAsync($"/collections/{collection}/aliases")).Result);

    [Fact]
    public async Task Create_alias_is_listed_globally_and_per_collection()
    {
        var name = await Api.CreateAsync(_client, "alias_list");
        var other = await Api.CreateAsync(_client, "alias_list_other");
        var alias = ServerFixture.UniqueName("al");
        var otherAlias = ServerFixture.UniqueName("al");
        var response = Api.Ok(await AliasesAsync($$$"""
            [{"create_alias":{"alias_name":"{{{alias}}}","collection_name":"{{{name}}}"}},
             {"create_alias":{"alias_name":"{{{otherAlias}}}","collection_name":"{{{other}}}"}}]
            """));
        Assert.True(response.Result.GetValue<bool>());

        var all = await AllAliasesAsync();
        Assert.Contains((alias, name), all);
        Assert.Contains((otherAlias, other), all);
        Assert.Equal(new[] { (alias, name) }, await CollectionAliasesAsync(name));
        Assert.Equal(new[] { (otherAlias, other) }, await CollectionAliasesAsync(other));
    }

    [Fact]
    public async Task Requests_by_alias_reach_the_collection()
    {
        var name = await Api.CreateAsync(_client, "alias_use", 2, "Dot");
        var alias = ServerFixture.UniqueName("al");
        Api.Ok(await AliasesAsync($$$"""[{"create_alias":{"alias_name":"{{{alias}}}","collection_name":"{{{name}}}"}}]"""));

        await Api.UpsertAsync(_client, alias, """[{"id":1,"vector":[1,2],"payload":{"k":"v"}},{"id":2,"vector":[3,1]}]""");
        Assert.Equal(2, await Api.CountAsync(_client, name));
        Assert.Equal(2, await Api.CountAsync(_client, alias));

        var query = Api.Ok(await _client.PostAsync($"/collections/{alias}/points/query", """{"query":[1,1],"with_payload":true}""")).Result;
        var points = query["points"]!.AsArray();
        Assert.Equal(["2", "1"], Api.Ids(points));
        Assert.Equal(4.0, points[0]!["score"]!.GetValue<double>(), 4);
        Assert.Equal(3.0, points[1]!["score"]!.GetValue<double>(), 4);
        Api.JsonEqual("""{"k":"v"}""", points[1]!["payload"]);

        Api.JsonEqual("""{"k":"v"}""", (await Api.GetPointAsync(_client, alias, "1"))["payload"]);
    }

    [Fact]
    public async Task Rename_alias_moves_the_name()
    {
        var name = await Api.CreateAsync(_client, "alias_ren");
        var oldAlias = ServerFixture.UniqueName("al");
        var newAlias = ServerFixture.UniqueName("al");
        Api.Ok(await AliasesAsync($$$"""[{"create_alias":{"alias_name":"{{{oldAlias}}}","collection_name":"{{{name}}}"}}]"""));
        Assert.True(Api.Ok(await AliasesAsync($$$"""[{"rename_alias":{"old_alias_name":"{{{oldAlias}}}","new_alias_name":"{{{newAlias}}}"}}]""")).Result.GetValue<bool>());

        Assert.Equal(new[] { (newAlias, name) }, await CollectionAliasesAsync(name));
        var all = await AllAliasesAsync();
        Assert.DoesNotContain(all, a => a.Alias == oldAlias);
        Api.Error(await _client.PostAsync($"/collections/{oldAlias}/points/count", "{}"), HttpStatusCode.NotFound);
        Assert.Equal(0, await Api.CountAsync(_client, newAlias));
    }

    [Fact]
    public async Task Delete_alias_removes_it()
    {
        var name = await Api.CreateAsync(_client, "alias_del");
        var alias = ServerFixture.UniqueName("al");
        Api.Ok(await AliasesAsync($$$"""[{"create_alias":{"alias_name":"{{{alias}}}","collection_name":"{{{name}}}"}}]"""));
        Assert.True(Api.Ok(await AliasesAsync($$$"""[{"delete_alias":{"alias_name":"{{{alias}}}"}}]""")).Result.GetValue<bool>());
        Assert.Empty(await CollectionAliasesAsync(name));
        Assert.DoesNotContain(await AllAliasesAsync(), a => a.Alias == alias);
        Api.Error(await _client.PostAsync($"/collections/{alias}/points/count", "{}"), HttpStatusCode.NotFound);
        // The collection itself is untouched.
        Api.JsonEqual("""{"exists":true}""", Api.Ok(await _client.GetAsync($"/collections/{name}/exists")).Result);
    }

    [Fact]
    public async Task Actions_are_atomic_when_a_later_action_fails()
    {
        var name = await Api.CreateAsync(_client, "alias_atomic");
        var alias = ServerFixture.UniqueName("al");
        var missing = ServerFixture.UniqueName("missing");
        var response = await AliasesAsync($$$"""
            [{"create_alias":{"alias_name":"{{{alias}}}","collection_name":"{{{name}}}"}},
             {"delete_alias":{"alias_name":"{{{missing}}}"}}]
            """);
        Api.Error(response, HttpStatusCode.NotFound, missing);
        Assert.Empty(await CollectionAliasesAsync(name));
        Assert.DoesNotContain(await AllAliasesAsync(), a => a.Alias == alias);
        Api.Error(await _client.PostAsync($"/collections/{alias}/points/count", "{}"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Create_alias_for_missing_collection_is_404()
    {
        var alias = ServerFixture.UniqueName("al");
        var missing = ServerFixture.UniqueName("missing");
        Api.Error(await AliasesAsync($$$"""[{"create_alias":{"alias_name":"{{{alias}}}","collection_name":"{{{missing}}}"}}]"""), HttpStatusCode.NotFound, missing);
        Assert.DoesNotContain(await AllAliasesAsync(), a => a.Alias == alias);
    }

    [Fact]
    public async Task Deleting_collection_removes_its_aliases()
    {
        var name = await Api.CreateAsync(_client, "alias_coll_del");
        var a1 = ServerFixture.UniqueName("al");
        var a2 = ServerFixture.UniqueName("al");
        Api.Ok(await AliasesAsync($$$"""
            [{"create_alias":{"alias_name":"{{{a1}}}","collection_name":"{{{name}}}"}},
             {"create_alias":{"alias_name":"{{{a2}}}","collection_name":"{{{name}}}"}}]
            """));
        Assert.Equal(2, (await CollectionAliasesAsync(name)).Count);
        Api.Ok(await _client.DeleteAsync($"/collections/{name}"));
        var all = await AllAliasesAsync();
        Assert.DoesNotContain(all, a => a.Alias == a1 || a.Alias == a2 || a.Collection == name);

        // A new collection with the same name does not inherit them.
        Api.Ok(await _client.PutAsync($"/collections/{name}", """{"vectors":{"size":4,"distance":"Cosine"}}"""));
        Assert.Empty(await CollectionAliasesAsync(name));
        Api.Ok(await _client.DeleteAsync($"/collections/{name}"));
    }

    [Fact]
    public async Task Unknown_action_is_400_and_nothing_applies()
    {
        var name = await Api.CreateAsync(_client, "alias_badaction");
        var alias = ServerFixture.UniqueName("al");
        var response = await AliasesAsync($$$"""
            [{"create_alias":{"alias_name":"{{{alias}}}","collection_name":"{{{name}}}"}},
             {"explode_alias":{"alias_name":"{{{alias}}}"}}]
            """);
        Api.Error(response, HttpStatusCode.BadRequest);
        Assert.Empty(await CollectionAliasesAsync(name));
    }
}
