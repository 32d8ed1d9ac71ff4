using System.Net;
using System.Text.Json.Nodes;
using Quiver.Server.Tests.Infrastructure;

namespace Quiver.Server.Tests.Rest;

[Collection(ServerCollection.Name)]
public sealed class IndexTests(ServerFixture fixture)
{
    private readonly RestClient _client = fixture.Client;

    /// <summary>Field -> schema JSON for every index the filter dataset gets.</summary>
    private static readonly (string Field, string Schema)[] Indexes =
    [
        ("city", "\"keyword\""),
        ("tags", "\"keyword\""),
        ("price", "\"float\""),
        ("rating", "\"float\""),
        ("count", "\"integer\""),
        ("active", "\"bool\""),
        ("created", "\"datetime\""),
        ("uid", "\"uuid\""),
        ("country.name", "\"keyword\""),
        ("country.cities[].population", "\"float\""),
        ("reviews[].user", "\"keyword\""),
        ("desc", """{"type":"text","tokenizer":"word","lowercase":true}"""),
    ];

    /// <summary>With a word-tokenised, lowercased text index, text match means "all tokens present".</summary>
    private static readonly Dictionary<string, string[]> TextIndexExpectations = new()
    {
        ["match_text_substring"] = ["1", "3"],
        ["match_text_substring_inside_word"] = [],
        ["match_text_phrase"] = ["1"],
    };

    private Task<RestResponse> CreateIndexAsync(string collection, string field, string schema)
        => _client.PutAsync($"/collections/{collection}/index?wait=true", $$$"""{"field_name":"{{{field}}}","field_schema":{{{schema}}} }""");

    private async Task<JsonObject> SchemaAsync(string collection)
        => Api.Ok(await _client.GetAsync($"/collections/{collection}")).Result["payload_schema"]!.AsObject();

    private async Task<string> IndexedDatasetAsync(string prefix, bool indexFirst)
    {
        var name = await Api.CreateAsync(_client, prefix);
        if (!indexFirst)
            await Api.UpsertAsync(_client, name, FilterData.Points);
        foreach (var (field, schema) in Indexes)
            Api.AssertCompleted(Api.Ok(await CreateIndexAsync(name, field, schema)));
        if (indexFirst)
            await Api.UpsertAsync(_client, name, FilterData.Points);
        return name;
    }

    public static TheoryData<string> Cases => FilterData.CaseNames();

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Indexed_filters_give_the_same_ids_as_unindexed(string caseName)
    {
        var (filter, expected) = FilterData.Cases[caseName];
        if (TextIndexExpectations.TryGetValue(caseName, out var textExpected))
            expected = textExpected;
        var name = await IndexedDatasetAsync("idx_flt", indexFirst: false);

        Assert.Equal(expected, await Api.ScrollIdsAsync(_client, name, filter));
        Assert.Equal(expected.Length, await Api.CountAsync(_client, name, filter));
        var query = Api.Ok(await _client.PostAsync($"/collections/{name}/points/query",
            $$$"""{"query":[0.5,0.4,0.3,0.2],"filter":{{{filter}}},"limit":100,"params":{"exact":true}}""")).Result;
        Assert.Equal(Api.Sorted(expected), Api.Sorted(Api.Ids(query["points"])));
    }

    [Fact]
    public async Task Index_created_before_upsert_covers_new_points()
    {
        var name = await IndexedDatasetAsync("idx_first", indexFirst: true);
        foreach (var caseName in new[] { "match_keyword", "range_integer", "match_bool_false", "range_datetime_offset", "match_uuid_string", "dotted_array_path_range" })
        {
            var (filter, expected) = FilterData.Cases[caseName];
            Assert.Equal(expected, await Api.ScrollIdsAsync(_client, name, filter));
        }

        var schema = await SchemaAsync(name);
        Assert.Equal(6, schema["city"]!["points"]!.GetValue<long>());
    }

    [Fact]
    public async Task Payload_schema_shows_each_index_type_and_point_counts()
    {
        var name = await IndexedDatasetAsync("idx_schema", indexFirst: false);
        var schema = await SchemaAsync(name);
        var expected = new Dictionary<string, (string Type, long Points)>
        {
            ["city"] = ("keyword", 6),
            ["tags"] = ("keyword", 3),
            ["price"] = ("float", 6),
            ["rating"] = ("float", 2),
            ["count"] = ("integer", 1),
            ["active"] = ("bool", 4),
            ["created"] = ("datetime", 4),
            ["uid"] = ("uuid", 2),
            ["country.name"] = ("keyword", 3),
            ["country.cities[].population"] = ("float", 3),
            ["reviews[].user"] = ("keyword", 2),
            ["desc"] = ("text", 3),
        };
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), schema.Select(p => p.Key).Order(StringComparer.Ordinal));
        foreach (var (field, (type, points)) in expected)
        {
            Assert.Equal(type, schema[field]!["data_type"]!.GetValue<string>());
            Assert.True(points == schema[field]!["points"]!.GetValue<long>(), $"{field}: expected {points} points, got {schema[field]!.ToJsonString()}");
        }
    }

    [Fact]
    public async Task Index_points_count_follows_writes()
    {
        var name = await Api.CreateAsync(_client, "idx_count", 2, "Dot");
        Api.AssertCompleted(Api.Ok(await CreateIndexAsync(name, "city", "\"keyword\"")));
        Assert.Equal(0, (await SchemaAsync(name))["city"]!["points"]!.GetValue<long>());
        await Api.UpsertAsync(_client, name, """
            [{"id":1,"vector":[1,0],"payload":{"city":"A"}},{"id":2,"vector":[1,0],"payload":{"city":"B"}},{"id":3,"vector":[1,0],"payload":{"x":1}}]
            """);
        Assert.Equal(2, (await SchemaAsync(name))["city"]!["points"]!.GetValue<long>());
        Api.Ok(await _client.PostAsync($"/collections/{name}/points/delete?wait=true", """{"points":[1]}"""));
        Assert.Equal(1, (await SchemaAsync(name))["city"]!["points"]!.GetValue<long>());
        Api.Ok(await _client.PostAsync($"/collections/{name}/points/payload?wait=true", """{"payload":{"city":"C"},"points":[3]}"""));
        Assert.Equal(2, (await SchemaAsync(name))["city"]!["points"]!.GetValue<long>());
        Assert.Equal(["3"], await Api.ScrollIdsAsync(_client, name, """{"must":[{"key":"city","match":{"value":"C"}}]}"""));
        Assert.Empty(await Api.ScrollIdsAsync(_client, name, """{"must":[{"key":"city","match":{"value":"A"}}]}"""));
    }

    [Fact]
    public async Task Delete_index_removes_it_from_schema_and_filters_still_work()
    {
        var name = await IndexedDatasetAsync("idx_delete", indexFirst: false);
        Api.AssertCompleted(Api.Ok(await _client.DeleteAsync($"/collections/{name}/index/city?wait=true")));
        Api.AssertCompleted(Api.Ok(await _client.DeleteAsync($"/collections/{name}/index/desc?wait=true")));
        var schema = await SchemaAsync(name);
        Assert.False(schema.ContainsKey("city"), schema.ToJsonString());
        Assert.False(schema.ContainsKey("desc"), schema.ToJsonString());
        Assert.True(schema.ContainsKey("price"), schema.ToJsonString());

        var (filter, expected) = FilterData.Cases["match_keyword"];
        Assert.Equal(expected, await Api.ScrollIdsAsync(_client, name, filter));
        // Without the text index, text match is a substring match again.
        var (textFilter, textExpected) = FilterData.Cases["match_text_substring"];
        Assert.Equal(textExpected, await Api.ScrollIdsAsync(_client, name, textFilter));
    }

    [Fact]
    public async Task Text_index_without_lowercase_is_case_sensitive_by_token()
    {
        var name = await Api.CreateAsync(_client, "idx_text_case");
        await Api.UpsertAsync(_client, name, FilterData.Points);
        Api.AssertCompleted(Api.Ok(await CreateIndexAsync(name, "desc", """{"type":"text","tokenizer":"word","lowercase":false}""")));
        Assert.Equal(["3"], await Api.ScrollIdsAsync(_client, name, """{"must":[{"key":"desc","match":{"text":"Quick"}}]}"""));
        Assert.Equal(["2"], await Api.ScrollIdsAsync(_client, name, """{"must":[{"key":"desc","match":{"text":"sleeps lazy"}}]}"""));
        Assert.Empty(await Api.ScrollIdsAsync(_client, name, """{"must":[{"key":"desc","match":{"text":"quick dog"}}]}"""));
    }

    [Fact]
    public async Task Unknown_field_schema_is_400()
    {
        var name = await Api.CreateAsync(_client, "idx_bad");
        Api.Error(await CreateIndexAsync(name, "city", "\"hologram\""), HttpStatusCode.BadRequest, "field_schema");
        Api.JsonEqual("{}", await SchemaAsync(name));
    }

    [Fact]
    public async Task Index_on_unknown_collection_is_404()
    {
        var missing = ServerFixture.UniqueName("idx_missing");
        Api.Error(await CreateIndexAsync(missing, "city", "\"keyword\""), HttpStatusCode.NotFound, missing);
    }
}
