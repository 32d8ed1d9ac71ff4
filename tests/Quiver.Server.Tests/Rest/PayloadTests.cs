using System.Net;
using Quiver.Server.Tests.Infrastructure;

namespace Quiver.Server.Tests.Rest;

[Collection(ServerCollection.Name)]
public sealed class PayloadTests(ServerFixture fixture)
{
    private readonly RestClient _client = fixture.Client;

    private async Task<string> SeedAsync(string prefix)
    {
        var name = await Api.CreateAsync(_client, prefix, 2, "Dot");
        await Api.UpsertAsync(_client, name, """
            [{"id":1,"vector":[1,0],"payload":{"a":1,"b":{"c":1,"d":2},"e":3,"group":"x"}},
             {"id":2,"vector":[0,1],"payload":{"a":2,"group":"y"}},
             {"id":3,"vector":[1,1],"payload":{"a":3,"group":"x","nested":{"inner":{"keep":1}}}},
             {"id":4,"vector":[2,1]}]
            """);
        return name;
    }

    private async Task<Dictionary<string, string?>> PayloadsAsync(string name)
    {
        var records = Api.Ok(await _client.PostAsync($"/collections/{name}/points/scroll", """{"limit":100,"with_payload":true}""")).Result["points"]!.AsArray();
        return records.ToDictionary(r => Api.IdText(r!["id"]), r => r!["payload"]?.ToJsonString());
    }

    private static void PayloadIs(Dictionary<string, string?> payloads, string id, string expected)
        => Api.JsonEqual(expected, payloads[id] is null ? null : System.Text.Json.Nodes.JsonNode.Parse(payloads[id]!));

    [Fact]
    public async Task Set_payload_by_ids_merges_keys()
    {
        var name = await SeedAsync("pl_set");
        Api.AssertCompleted(Api.Ok(await _client.PostAsync($"/collections/{name}/points/payload?wait=true",
            """{"payload":{"a":10,"new":"n","b":{"z":9}},"points":[1,4]}""")));
        var p = await PayloadsAsync(name);
        // Top-level keys are replaced (not deep-merged): "b" becomes the new object.
        PayloadIs(p, "1", """{"a":10,"b":{"z":9},"e":3,"group":"x","new":"n"}""");
        PayloadIs(p, "4", """{"a":10,"new":"n","b":{"z":9}}""");
        PayloadIs(p, "2", """{"a":2,"group":"y"}""");
        PayloadIs(p, "3", """{"a":3,"group":"x","nested":{"inner":{"keep":1}}}""");
    }

    [Fact]
    public async Task Set_payload_by_filter_touches_only_matching_points()
    {
        var name = await SeedAsync("pl_set_filter");
        Api.AssertCompleted(Api.Ok(await _client.PostAsync($"/collections/{name}/points/payload?wait=true",
            """{"payload":{"flag":true},"filter":{"must":[{"key":"group","match":{"value":"x"}}]}}""")));
        var p = await PayloadsAsync(name);
        PayloadIs(p, "1", """{"a":1,"b":{"c":1,"d":2},"e":3,"group":"x","flag":true}""");
        PayloadIs(p, "3", """{"a":3,"group":"x","nested":{"inner":{"keep":1}},"flag":true}""");
        PayloadIs(p, "2", """{"a":2,"group":"y"}""");
        PayloadIs(p, "4", "{}");
        Assert.Equal(["1", "3"], await Api.ScrollIdsAsync(_client, name, """{"must":[{"key":"flag","match":{"value":true}}]}"""));
    }

    [Fact]
    public async Task Set_payload_with_key_merges_into_the_nested_object()
    {
        var name = await SeedAsync("pl_set_key");
        Api.AssertCompleted(Api.Ok(await _client.PostAsync($"/collections/{name}/points/payload?wait=true",
            """{"payload":{"added":2},"points":[3],"key":"nested.inner"}""")));
        var p = await PayloadsAsync(name);
        PayloadIs(p, "3", """{"a":3,"group":"x","nested":{"inner":{"keep":1,"added":2}}}""");
        PayloadIs(p, "1", """{"a":1,"b":{"c":1,"d":2},"e":3,"group":"x"}""");
        Assert.Equal(["3"], await Api.ScrollIdsAsync(_client, name, """{"must":[{"key":"nested.inner.added","match":{"value":2}}]}"""));
    }

    [Fact]
    public async Task Overwrite_payload_replaces_everything()
    {
        var name = await SeedAsync("pl_overwrite");
        Api.AssertCompleted(Api.Ok(await _client.PutAsync($"/collections/{name}/points/payload?wait=true",
            """{"payload":{"only":"this"},"points":[1,2]}""")));
        var p = await PayloadsAsync(name);
        PayloadIs(p, "1", """{"only":"this"}""");
        PayloadIs(p, "2", """{"only":"this"}""");
        PayloadIs(p, "3", """{"a":3,"group":"x","nested":{"inner":{"keep":1}}}""");
        Assert.Equal(0, await Api.CountAsync(_client, name, """{"must":[{"key":"group","match":{"value":"y"}}]}"""));
    }

    [Fact]
    public async Task Overwrite_payload_by_filter()
    {
        var name = await SeedAsync("pl_overwrite_f");
        Api.AssertCompleted(Api.Ok(await _client.PutAsync($"/collections/{name}/points/payload?wait=true",
            """{"payload":{"g":1},"filter":{"must":[{"key":"a","range":{"gte":2}}]}}""")));
        var p = await PayloadsAsync(name);
        PayloadIs(p, "1", """{"a":1,"b":{"c":1,"d":2},"e":3,"group":"x"}""");
        PayloadIs(p, "2", """{"g":1}""");
        PayloadIs(p, "3", """{"g":1}""");
        PayloadIs(p, "4", "{}");
    }

    [Fact]
    public async Task Delete_payload_keys_including_nested_path()
    {
        var name = await SeedAsync("pl_delkeys");
        Api.AssertCompleted(Api.Ok(await _client.PostAsync($"/collections/{name}/points/payload/delete?wait=true",
            """{"keys":["a","b.c"],"points":[1,2]}""")));
        var p = await PayloadsAsync(name);
        PayloadIs(p, "1", """{"b":{"d":2},"e":3,"group":"x"}""");
        PayloadIs(p, "2", """{"group":"y"}""");
        PayloadIs(p, "3", """{"a":3,"group":"x","nested":{"inner":{"keep":1}}}""");
    }

    [Fact]
    public async Task Delete_payload_keys_by_filter()
    {
        var name = await SeedAsync("pl_delkeys_f");
        Api.AssertCompleted(Api.Ok(await _client.PostAsync($"/collections/{name}/points/payload/delete?wait=true",
            """{"keys":["group"],"filter":{"must":[{"key":"group","match":{"value":"x"}}]}}""")));
        var p = await PayloadsAsync(name);
        PayloadIs(p, "1", """{"a":1,"b":{"c":1,"d":2},"e":3}""");
        PayloadIs(p, "3", """{"a":3,"nested":{"inner":{"keep":1}}}""");
        PayloadIs(p, "2", """{"a":2,"group":"y"}""");
    }

    [Fact]
    public async Task Clear_payload_by_ids_and_by_filter()
    {
        var name = await SeedAsync("pl_clear");
        Api.AssertCompleted(Api.Ok(await _client.PostAsync($"/collections/{name}/points/payload/clear?wait=true", """{"points":[2]}""")));
        var p = await PayloadsAsync(name);
        PayloadIs(p, "2", "{}");
        PayloadIs(p, "1", """{"a":1,"b":{"c":1,"d":2},"e":3,"group":"x"}""");

        Api.AssertCompleted(Api.Ok(await _client.PostAsync($"/collections/{name}/points/payload/clear?wait=true",
            """{"filter":{"must":[{"key":"group","match":{"value":"x"}}]}}""")));
        p = await PayloadsAsync(name);
        PayloadIs(p, "1", "{}");
        PayloadIs(p, "3", "{}");
        Assert.Equal(4, await Api.CountAsync(_client, name));
        // Vectors survive a payload clear.
        Api.VectorEqual([1, 1], (await Api.GetPointAsync(_client, name, "3"))["vector"]);
    }

    // SERVER BUG (found by this test): Qdrant answers 404 "No point with id 777 found" when an explicit point list
    // names a missing point (payload_ops::check_unprocessed_points); Quiver answers 200 and silently skips it.
    [Fact]
    public async Task Set_payload_on_missing_point_is_404_and_nothing_applied()
    {
        var name = await SeedAsync("pl_set_missing");
        var response = await _client.PostAsync($"/collections/{name}/points/payload?wait=true", """{"payload":{"x":1},"points":[1,777]}""");
        Api.Error(response, HttpStatusCode.NotFound, "777");
        var p = await PayloadsAsync(name);
        PayloadIs(p, "1", """{"a":1,"b":{"c":1,"d":2},"e":3,"group":"x"}""");
    }

    // SERVER BUG: same as above for overwrite / delete-keys / clear with explicit ids (Qdrant: 404 for missing ids).
    [Theory]
    [InlineData("PUT", "payload", """{"payload":{"x":1},"points":[1,777]}""")]
    [InlineData("POST", "payload/delete", """{"keys":["a"],"points":[1,777]}""")]
    [InlineData("POST", "payload/clear", """{"points":[1,777]}""")]
    public async Task Payload_operations_on_missing_point_are_404(string method, string path, string body)
    {
        var name = await SeedAsync("pl_missing");
        var response = await _client.SendAsync(new HttpMethod(method), $"/collections/{name}/points/{path}?wait=true", body);
        Api.Error(response, HttpStatusCode.NotFound, "777");
        PayloadIs(await PayloadsAsync(name), "1", """{"a":1,"b":{"c":1,"d":2},"e":3,"group":"x"}""");
    }

    [Fact]
    public async Task Payload_round_trips_all_json_types()
    {
        var name = await Api.CreateAsync(_client, "pl_types", 2, "Dot");
        const string payload = """
            {"s":"text with \"quotes\" and ünïcödé ✓","i":-9007199254740991,"u":18446744073709551615,"f":-0.000123,"big":1.5e300,
             "t":true,"fl":false,"n":null,"arr":[1,"two",{"three":3},[4],null],"obj":{"deep":{"deeper":{"k":[]}}},"empty":{}}
            """;
        await Api.UpsertAsync(_client, name, $$$"""[{"id":1,"vector":[1,0],"payload":{{{payload}}} }]""");
        Api.JsonEqual(payload, (await Api.GetPointAsync(_client, name, "1"))["payload"]);
    }
}
