using Quiver.Server.Tests.Infrastructure;

namespace Quiver.Server.Tests.Rest;

/// <summary>A small, hand-checked dataset and the exact ids each filter must select (Qdrant semantics).</summary>
internal static class FilterData
{
    public const string Uuid = "aaaaaaaa-0000-0000-0000-000000000007";

    public const string Points = $$$"""
        [{"id":1,"vector":[1,0,0,0],"payload":{"city":"Berlin","price":10,"rating":4.5,"tags":["a","b"],"active":true,
            "created":"2024-01-01T00:00:00Z","desc":"the quick brown fox","uid":"11111111-1111-1111-1111-111111111111",
            "country":{"name":"DE","cities":[{"name":"Berlin","population":3.7},{"name":"Munich","population":1.5}]},
            "reviews":[{"user":"ann","score":5},{"user":"bob","score":2}],"nil":null}},
         {"id":2,"vector":[0,1,0,0],"payload":{"city":"London","price":20,"rating":3.0,"tags":["b","c"],"active":false,
            "created":"2024-02-15T12:00:00Z","desc":"lazy dog sleeps","uid":"22222222-2222-2222-2222-222222222222",
            "country":{"name":"UK","cities":[{"name":"London","population":8.9}]},
            "reviews":[{"user":"ann","score":2},{"user":"bob","score":5}]}},
         {"id":3,"vector":[0,0,1,0],"payload":{"city":"Moscow","price":30,"tags":[],"active":true,
            "created":"2024-03-10T08:30:00+02:00","desc":"Quick thinking","reviews":[]}},
         {"id":4,"vector":[0,0,0,1],"payload":{"city":["Berlin","Paris"],"price":40.5,"rating":null,"tags":["c"],
            "created":"2023-12-31T23:59:59Z","country":{"name":"FR","cities":[{"name":"Paris","population":2.1}]}} },
         {"id":5,"vector":[1,1,0,0],"payload":{"city":"Paris","price":5,"active":false,"nil":null}},
         {"id":6,"vector":[0,1,1,0]},
         {"id":"{{{Uuid}}}","vector":[0,0,1,1],"payload":{"city":"Berlin","price":15,"count":[1,2,3]}}]
        """;

    public static readonly string[] All = ["1", "2", "3", "4", "5", "6", Uuid];

    /// <summary>Case name -> (filter JSON, expected ids in scroll order: numeric ascending, then UUIDs).</summary>
    public static readonly Dictionary<string, (string Filter, string[] Expected)> Cases = new()
    {
        ["match_keyword"] = ("""{"must":[{"key":"city","match":{"value":"Berlin"}}]}""", ["1", "4", Uuid]),
        ["match_keyword_in_array"] = ("""{"must":[{"key":"city","match":{"value":"Paris"}}]}""", ["4", "5"]),
        ["match_integer"] = ("""{"must":[{"key":"price","match":{"value":20}}]}""", ["2"]),
        ["match_bool_true"] = ("""{"must":[{"key":"active","match":{"value":true}}]}""", ["1", "3"]),
        ["match_bool_false"] = ("""{"must":[{"key":"active","match":{"value":false}}]}""", ["2", "5"]),
        ["match_array_element"] = ("""{"must":[{"key":"tags","match":{"value":"b"}}]}""", ["1", "2"]),
        ["match_uuid_string"] = ("""{"must":[{"key":"uid","match":{"value":"22222222-2222-2222-2222-222222222222"}}]}""", ["2"]),
        ["match_missing_key"] = ("""{"must":[{"key":"nope","match":{"value":"x"}}]}""", []),
        ["match_any_keywords"] = ("""{"must":[{"key":"city","match":{"any":["London","Paris"]}}]}""", ["2", "4", "5"]),
        ["match_any_integers"] = ("""{"must":[{"key":"price","match":{"any":[10,30,40]}}]}""", ["1", "3"]),
        ["match_except_keywords"] = ($$$"""{"must":[{"key":"city","match":{"except":["Berlin","London"]}},{"has_id":[1,2,3,4,5,"{{{Uuid}}}"]}]}""", ["3", "4", "5"]),
        ["match_except_integers"] = ("""{"must":[{"key":"price","match":{"except":[10,20]}},{"has_id":[1,2,3,5]}]}""", ["3", "5"]),
        ["match_text_substring"] = ("""{"must":[{"key":"desc","match":{"text":"quick"}}]}""", ["1"]),
        ["match_text_substring_inside_word"] = ("""{"must":[{"key":"desc","match":{"text":"ink"}}]}""", ["3"]),
        ["match_text_phrase"] = ("""{"must":[{"key":"desc","match":{"text":"brown fox"}}]}""", ["1"]),
        ["range_integer"] = ("""{"must":[{"key":"price","range":{"gt":10,"lte":30}}]}""", ["2", "3", Uuid]),
        ["range_float_gte"] = ("""{"must":[{"key":"price","range":{"gte":30.5}}]}""", ["4"]),
        ["range_lt"] = ("""{"must":[{"key":"price","range":{"lt":10}}]}""", ["5"]),
        ["range_skips_null"] = ("""{"must":[{"key":"rating","range":{"gte":3}}]}""", ["1", "2"]),
        ["range_datetime"] = ("""{"must":[{"key":"created","range":{"gte":"2024-01-01T00:00:00Z","lt":"2024-03-01T00:00:00Z"}}]}""", ["1", "2"]),
        ["range_datetime_offset"] = ("""{"must":[{"key":"created","range":{"gt":"2024-03-10T06:00:00Z","lt":"2024-03-10T07:00:00Z"}}]}""", ["3"]),
        ["range_datetime_before"] = ("""{"must":[{"key":"created","range":{"lt":"2024-01-01T00:00:00Z"}}]}""", ["4"]),
        ["values_count_gte_2"] = ("""{"must":[{"key":"tags","values_count":{"gte":2}}]}""", ["1", "2"]),
        ["values_count_gt_0"] = ("""{"must":[{"key":"tags","values_count":{"gt":0}}]}""", ["1", "2", "4"]),
        ["values_count_scalar_vs_array"] = ("""{"must":[{"key":"city","values_count":{"gte":2}}]}""", ["4"]),
        ["values_count_range"] = ("""{"must":[{"key":"count","values_count":{"gte":3,"lte":3}}]}""", [Uuid]),
        ["is_empty_array_or_missing"] = ("""{"must":[{"is_empty":{"key":"tags"}}]}""", ["3", "5", "6", Uuid]),
        ["is_empty_null_or_missing"] = ("""{"must":[{"is_empty":{"key":"rating"}}]}""", ["3", "4", "5", "6", Uuid]),
        ["is_empty_nested_path"] = ("""{"must":[{"is_empty":{"key":"country.cities"}}]}""", ["3", "5", "6", Uuid]),
        ["is_null"] = ("""{"must":[{"is_null":{"key":"nil"}}]}""", ["1", "5"]),
        ["is_null_not_missing"] = ("""{"must":[{"is_null":{"key":"rating"}}]}""", ["4"]),
        ["has_id"] = ($$$"""{"must":[{"has_id":[2,5,"{{{Uuid}}}",999]}]}""", ["2", "5", Uuid]),
        ["nested_object_array"] = ("""{"must":[{"nested":{"key":"reviews","filter":{"must":[{"key":"user","match":{"value":"ann"}},{"key":"score","range":{"gte":4}}]}}}]}""", ["1"]),
        ["array_path_without_nested"] = ("""{"must":[{"key":"reviews[].user","match":{"value":"ann"}},{"key":"reviews[].score","range":{"gte":4}}]}""", ["1", "2"]),
        ["dotted_array_path_range"] = ("""{"must":[{"key":"country.cities[].population","range":{"gt":3}}]}""", ["1", "2"]),
        ["dotted_array_path_range_narrow"] = ("""{"must":[{"key":"country.cities[].population","range":{"gte":2,"lt":3}}]}""", ["4"]),
        ["dotted_object_path"] = ("""{"must":[{"key":"country.name","match":{"value":"UK"}}]}""", ["2"]),
        ["dotted_array_path_match"] = ("""{"must":[{"key":"country.cities[].name","match":{"value":"Munich"}}]}""", ["1"]),
        ["must_two_conditions"] = ("""{"must":[{"key":"city","match":{"value":"Berlin"}},{"key":"price","range":{"lt":12}}]}""", ["1"]),
        ["must_not"] = ("""{"must_not":[{"key":"city","match":{"value":"Berlin"}}]}""", ["2", "3", "5", "6"]),
        ["should"] = ("""{"should":[{"key":"city","match":{"value":"London"}},{"key":"price","range":{"lt":10}}]}""", ["2", "5"]),
        ["min_should"] = ("""{"min_should":{"conditions":[{"key":"city","match":{"value":"Berlin"}},{"key":"active","match":{"value":true}},{"key":"price","range":{"gte":30}}],"min_count":2}}""", ["1", "3", "4"]),
        ["nested_filter_objects"] = ("""{"must":[{"should":[{"key":"city","match":{"value":"London"}},{"key":"city","match":{"value":"Moscow"}}]},{"must_not":[{"key":"active","match":{"value":true}}]}]}""", ["2"]),
        ["must_not_of_should"] = ("""{"must_not":[{"should":[{"key":"city","match":{"value":"Berlin"}},{"key":"city","match":{"value":"Paris"}}]}]}""", ["2", "3", "6"]),
        ["must_should_must_not"] = ("""{"must":[{"key":"price","range":{"gte":5}}],"should":[{"key":"tags","match":{"any":["a","c"]}}],"must_not":[{"has_id":[4]}]}""", ["1", "2"]),
        ["empty_filter"] = ("{}", All),
    };

    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        foreach (var name in Cases.Keys)
            data.Add(name);
        return data;
    }
}

[Collection(ServerCollection.Name)]
public sealed class FilterTests(ServerFixture fixture)
{
    private readonly RestClient _client = fixture.Client;

    public static TheoryData<string> Cases => FilterData.CaseNames();

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Filter_selects_exact_ids_in_scroll_count_and_query(string caseName)
    {
        var (filter, expected) = FilterData.Cases[caseName];
        var name = await Api.CreateAsync(_client, "flt");
        await Api.UpsertAsync(_client, name, FilterData.Points);

        Assert.Equal(expected, await Api.ScrollIdsAsync(_client, name, filter));
        Assert.Equal(expected.Length, await Api.CountAsync(_client, name, filter));

        var query = Api.Ok(await _client.PostAsync($"/collections/{name}/points/query",
            $$$"""{"query":[0.5,0.4,0.3,0.2],"filter":{{{filter}}},"limit":100,"params":{"exact":true}}""")).Result;
        Assert.Equal(Api.Sorted(expected), Api.Sorted(Api.Ids(query["points"])));
    }

    [Fact]
    public async Task Scroll_returns_exact_payloads_of_filtered_points()
    {
        var name = await Api.CreateAsync(_client, "flt_payload");
        await Api.UpsertAsync(_client, name, FilterData.Points);
        var result = Api.Ok(await _client.PostAsync($"/collections/{name}/points/scroll",
            """{"filter":{"must":[{"key":"city","match":{"value":"Paris"}}]},"with_payload":true}""")).Result;
        var points = result["points"]!.AsArray();
        Assert.Equal(["4", "5"], Api.Ids(points));
        Api.JsonEqual("""
            {"city":["Berlin","Paris"],"price":40.5,"rating":null,"tags":["c"],"created":"2023-12-31T23:59:59Z",
             "country":{"name":"FR","cities":[{"name":"Paris","population":2.1}]}}
            """, points[0]!["payload"]);
        Api.JsonEqual("""{"city":"Paris","price":5,"active":false,"nil":null}""", points[1]!["payload"]);
    }

    [Fact]
    public async Task Has_vector_selects_points_holding_the_named_vector()
    {
        var name = await Api.CreateRawAsync(_client, "flt_hasvec", """{"vectors":{"a":{"size":2,"distance":"Dot"},"b":{"size":2,"distance":"Dot"}}}""");
        await Api.UpsertAsync(_client, name, """
            [{"id":1,"vector":{"a":[1,0],"b":[0,1]}},{"id":2,"vector":{"a":[1,1]}},{"id":3,"vector":{"b":[2,2]}},{"id":4,"vector":{}}]
            """);
        Assert.Equal(["1", "3"], await Api.ScrollIdsAsync(_client, name, """{"must":[{"has_vector":"b"}]}"""));
        Assert.Equal(["1", "2"], await Api.ScrollIdsAsync(_client, name, """{"must":[{"has_vector":"a"}]}"""));
        Assert.Equal(["4"], await Api.ScrollIdsAsync(_client, name, """{"must_not":[{"has_vector":"a"},{"has_vector":"b"}]}"""));
        Assert.Equal(2, await Api.CountAsync(_client, name, """{"must":[{"has_vector":"b"}]}"""));
    }

    [Fact]
    public async Task Delete_by_complex_filter_removes_exactly_the_matching_points()
    {
        var name = await Api.CreateAsync(_client, "flt_delete");
        await Api.UpsertAsync(_client, name, FilterData.Points);
        var (filter, expected) = FilterData.Cases["min_should"];
        Api.AssertCompleted(Api.Ok(await _client.PostAsync($"/collections/{name}/points/delete?wait=true", $$$"""{"filter":{{{filter}}} }""")));
        Assert.Equal(FilterData.All.Except(expected).ToArray(), await Api.ScrollIdsAsync(_client, name, "{}"));
    }
}
