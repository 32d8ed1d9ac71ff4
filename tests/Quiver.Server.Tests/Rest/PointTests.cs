using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Quiver.Server.Tests.Infrastructure;

namespace Quiver.Server.Tests.Rest;

[Collection(ServerCollection.Name)]
public sealed class PointTests(ServerFixture fixture)
{
    private const string Uuid1 = "550e8400-e29b-41d4-a716-446655440000";
    private const string Uuid2 = "00000000-0000-0000-0000-00000000000a";

    private readonly RestClient _client = fixture.Client;

    private string Points(string collection) => $"/collections/{collection}/points";

    [Fact]
    public async Task Upsert_then_get_one_returns_payload_and_normalised_cosine_vector()
    {
        var name = await Api.CreateAsync(_client, "pt_get");
        await Api.UpsertAsync(_client, name, """
            [{"id":1,"vector":[3,0,4,0],"payload":{"city":"Berlin","n":7,"f":1.25,"ok":true,"tags":["a","b"],"o":{"x":null}}}]
            """);
        var point = await Api.GetPointAsync(_client, name, "1");
        Assert.Equal("1", Api.IdText(point["id"]));
        Api.JsonEqual("""{"city":"Berlin","n":7,"f":1.25,"ok":true,"tags":["a","b"],"o":{"x":null}}""", point["payload"]);
        Api.VectorEqual([0.6, 0, 0.8, 0], point["vector"]);

        Api.Error(await _client.GetAsync($"{Points(name)}/2"), HttpStatusCode.NotFound, "2");
    }

    [Fact]
    public async Task Upsert_replaces_an_existing_point_entirely()
    {
        var name = await Api.CreateAsync(_client, "pt_replace", 2, "Dot");
        await Api.UpsertAsync(_client, name, """[{"id":5,"vector":[1,2],"payload":{"a":1,"b":2}}]""");
        await Api.UpsertAsync(_client, name, """[{"id":5,"vector":[3,4],"payload":{"c":3}}]""");
        var point = await Api.GetPointAsync(_client, name, "5");
        Api.JsonEqual("""{"c":3}""", point["payload"]);
        Api.VectorEqual([3, 4], point["vector"]);
        Assert.Equal(1, await Api.CountAsync(_client, name));
    }

    [Fact]
    public async Task Uuid_ids_come_back_lowercase_hyphenated()
    {
        var name = await Api.CreateAsync(_client, "pt_uuid", 2, "Dot");
        await Api.UpsertAsync(_client, name, """[{"id":"550E8400-E29B-41D4-A716-446655440000","vector":[1,0],"payload":{"u":1}}]""");
        var point = await Api.GetPointAsync(_client, name, Uuid1);
        Assert.Equal(Uuid1, point["id"]!.GetValue<string>());
        Api.JsonEqual("""{"u":1}""", point["payload"]);

        var many = Api.Ok(await _client.PostAsync(Points(name), $$$"""{"ids":["{{{Uuid1}}}"]}""")).Result;
        Assert.Equal([Uuid1], Api.Ids(many));
        // The same UUID in another case is the same point.
        await Api.UpsertAsync(_client, name, $$$"""[{"id":"{{{Uuid1}}}","vector":[0,1],"payload":{"u":2}}]""");
        Assert.Equal(1, await Api.CountAsync(_client, name));
        Api.JsonEqual("""{"u":2}""", (await Api.GetPointAsync(_client, name, Uuid1))["payload"]);
    }

    [Fact]
    public async Task Columnar_batch_upsert_with_unnamed_vectors()
    {
        var name = await Api.CreateAsync(_client, "pt_batch", 2, "Euclid");
        var response = Api.Ok(await _client.PutAsync($"{Points(name)}?wait=true", $$$"""
            {"batch":{"ids":[1,2,"{{{Uuid2}}}"],"vectors":[[1,2],[3,4],[5,6]],"payloads":[{"a":1},{"a":2},{"a":3}]}}
            """));
        Api.AssertCompleted(response);
        Assert.Equal(3, await Api.CountAsync(_client, name));
        var records = Api.Ok(await _client.PostAsync(Points(name), $$$"""{"ids":[2,"{{{Uuid2}}}",1],"with_payload":true,"with_vector":true}""")).Result.AsArray();
        Assert.Equal(["2", Uuid2, "1"], Api.Ids(records));
        Api.JsonEqual("""{"id":2,"payload":{"a":2},"vector":[3,4]}""", Trim(records[0]));
        Api.JsonEqual($$$"""{"id":"{{{Uuid2}}}","payload":{"a":3},"vector":[5,6]}""", Trim(records[1]));
        Api.JsonEqual("""{"id":1,"payload":{"a":1},"vector":[1,2]}""", Trim(records[2]));
    }

    [Fact]
    public async Task Columnar_batch_upsert_with_named_vectors()
    {
        var name = await Api.CreateRawAsync(_client, "pt_batch_named",
            """{"vectors":{"a":{"size":2,"distance":"Dot"},"b":{"size":3,"distance":"Euclid"}}}""");
        Api.AssertCompleted(Api.Ok(await _client.PutAsync($"{Points(name)}?wait=true", """
            {"batch":{"ids":[10,11],"vectors":{"a":[[1,2],[3,4]],"b":[[1,1,1],[2,2,2]]}}}
            """)));
        var record = await Api.GetPointAsync(_client, name, "11");
        Api.VectorEqual([3, 4], record["vector"]!["a"]);
        Api.VectorEqual([2, 2, 2], record["vector"]!["b"]);
        Assert.Equal(2, record["vector"]!.AsObject().Count);
    }

    [Fact]
    public async Task Wait_false_acknowledges_and_becomes_visible()
    {
        var name = await Api.CreateAsync(_client, "pt_nowait", 2, "Dot");
        var response = Api.Ok(await _client.PutAsync($"{Points(name)}?wait=false", """{"points":[{"id":1,"vector":[1,1]},{"id":2,"vector":[2,2]}]}"""));
        Assert.Contains(response.Result["status"]!.GetValue<string>(), new[] { "acknowledged", "completed" });
        Assert.Equal(JsonValueKind.Number, response.Result["operation_id"]!.GetValueKind());
        var clock = Stopwatch.StartNew();
        long count;
        while ((count = await Api.CountAsync(_client, name)) < 2 && clock.Elapsed < TimeSpan.FromSeconds(10))
            await Task.Delay(20);
        Assert.Equal(2, count);
    }

    [Theory]
    [InlineData("weak")]
    [InlineData("medium")]
    [InlineData("strong")]
    public async Task Ordering_values_are_accepted(string ordering)
    {
        var name = await Api.CreateAsync(_client, "pt_order", 2, "Dot");
        Api.AssertCompleted(Api.Ok(await _client.PutAsync($"{Points(name)}?wait=true&ordering={ordering}", """{"points":[{"id":1,"vector":[1,1]}]}""")));
        Assert.Equal(1, await Api.CountAsync(_client, name));
    }

    [Fact]
    public async Task Unknown_ordering_is_400_and_nothing_written()
    {
        var name = await Api.CreateAsync(_client, "pt_order_bad", 2, "Dot");
        Api.Error(await _client.PutAsync($"{Points(name)}?wait=true&ordering=chaotic", """{"points":[{"id":1,"vector":[1,1]}]}"""), HttpStatusCode.BadRequest, "ordering");
        Assert.Equal(0, await Api.CountAsync(_client, name));
    }

    [Fact]
    public async Task Get_many_keeps_request_order_skips_missing_and_duplicates()
    {
        var name = await Api.CreateAsync(_client, "pt_many", 2, "Dot");
        await Api.UpsertAsync(_client, name, """
            [{"id":1,"vector":[1,0],"payload":{"a":1,"b":{"c":2,"d":3},"e":"x"}},
             {"id":2,"vector":[0,1],"payload":{"a":2}},
             {"id":3,"vector":[1,1],"payload":{"a":3,"e":"z"}}]
            """);
        var records = Api.Ok(await _client.PostAsync(Points(name), """{"ids":[3,99,1,3],"with_payload":true,"with_vector":true}""")).Result.AsArray();
        Assert.Equal(["3", "1"], Api.Ids(records));
        Api.JsonEqual("""{"a":3,"e":"z"}""", records[0]!["payload"]);
        Api.VectorEqual([1, 1], records[0]!["vector"]);
        Api.JsonEqual("""{"a":1,"b":{"c":2,"d":3},"e":"x"}""", records[1]!["payload"]);

        // Defaults: with_payload true, with_vector false.
        var defaults = Api.Ok(await _client.PostAsync(Points(name), """{"ids":[2]}""")).Result.AsArray();
        Api.JsonEqual("""{"a":2}""", Assert.Single(defaults)!["payload"]);
        Assert.Null(defaults[0]!["vector"]);
    }

    [Theory]
    [InlineData("false", "null")]
    [InlineData("true", """{"a":1,"b":{"c":2,"d":3},"e":"x"}""")]
    [InlineData("""["a","e"]""", """{"a":1,"e":"x"}""")]
    [InlineData("""{"include":["b"]}""", """{"b":{"c":2,"d":3}}""")]
    [InlineData("""{"exclude":["b","e"]}""", """{"a":1}""")]
    [InlineData("""["missing"]""", "{}")]
    public async Task Get_many_with_payload_selectors(string selector, string expected)
    {
        var name = await Api.CreateAsync(_client, "pt_sel", 2, "Dot");
        await Api.UpsertAsync(_client, name, """[{"id":1,"vector":[1,0],"payload":{"a":1,"b":{"c":2,"d":3},"e":"x"}}]""");
        var records = Api.Ok(await _client.PostAsync(Points(name), $$$"""{"ids":[1],"with_payload":{{{selector}}},"with_vector":false}""")).Result.AsArray();
        var record = Assert.Single(records)!;
        if (expected == "null")
            Assert.Null(record["payload"]);
        else
            Api.JsonEqual(expected, record["payload"]);
        Assert.Null(record["vector"]);
    }

    [Fact]
    public async Task Get_many_with_named_vector_selector()
    {
        var name = await Api.CreateRawAsync(_client, "pt_vsel", """{"vectors":{"a":{"size":2,"distance":"Dot"},"b":{"size":2,"distance":"Cosine"}}}""");
        await Api.UpsertAsync(_client, name, """[{"id":1,"vector":{"a":[1,2],"b":[0,5]}}]""");

        var onlyB = Assert.Single(Api.Ok(await _client.PostAsync(Points(name), """{"ids":[1],"with_vector":["b"]}""")).Result.AsArray())!;
        Assert.Equal(["b"], onlyB["vector"]!.AsObject().Select(p => p.Key).ToArray());
        Api.VectorEqual([0, 1], onlyB["vector"]!["b"]);

        var all = Assert.Single(Api.Ok(await _client.PostAsync(Points(name), """{"ids":[1],"with_vector":true}""")).Result.AsArray())!;
        Api.VectorEqual([1, 2], all["vector"]!["a"]);
        Api.VectorEqual([0, 1], all["vector"]!["b"]);

        var none = Assert.Single(Api.Ok(await _client.PostAsync(Points(name), """{"ids":[1],"with_vector":false}""")).Result.AsArray())!;
        Assert.Null(none["vector"]);
    }

    [Fact]
    public async Task Delete_by_ids_and_by_filter()
    {
        var name = await Api.CreateAsync(_client, "pt_delete", 2, "Dot");
        await Api.UpsertAsync(_client, name, """
            [{"id":1,"vector":[1,0],"payload":{"g":"x"}},{"id":2,"vector":[1,0],"payload":{"g":"y"}},
             {"id":3,"vector":[1,0],"payload":{"g":"x"}},{"id":4,"vector":[1,0],"payload":{"g":"z"}},
             {"id":5,"vector":[1,0]}]
            """);
        Api.AssertCompleted(Api.Ok(await _client.PostAsync($"{Points(name)}/delete?wait=true", """{"points":[2,99]}""")));
        Assert.Equal(["1", "3", "4", "5"], await Api.ScrollIdsAsync(_client, name, "{}"));
        Api.Error(await _client.GetAsync($"{Points(name)}/2"), HttpStatusCode.NotFound);

        Api.AssertCompleted(Api.Ok(await _client.PostAsync($"{Points(name)}/delete?wait=true", """{"filter":{"must":[{"key":"g","match":{"value":"x"}}]}}""")));
        Assert.Equal(["4", "5"], await Api.ScrollIdsAsync(_client, name, "{}"));
        Assert.Equal(2, await Api.CountAsync(_client, name));
    }

    [Fact]
    public async Task Update_vectors_keeps_other_named_vectors_and_payload()
    {
        var name = await Api.CreateRawAsync(_client, "pt_updvec", """{"vectors":{"a":{"size":2,"distance":"Dot"},"b":{"size":2,"distance":"Dot"}}}""");
        await Api.UpsertAsync(_client, name, """[{"id":1,"vector":{"a":[1,2],"b":[3,4]},"payload":{"p":1}}]""");
        Api.AssertCompleted(Api.Ok(await _client.PutAsync($"{Points(name)}/vectors?wait=true", """{"points":[{"id":1,"vector":{"a":[9,8]}}]}""")));
        var point = await Api.GetPointAsync(_client, name, "1");
        Api.VectorEqual([9, 8], point["vector"]!["a"]);
        Api.VectorEqual([3, 4], point["vector"]!["b"]);
        Api.JsonEqual("""{"p":1}""", point["payload"]);

        var query = Api.Ok(await _client.PostAsync($"{Points(name)}/query", """{"query":[1,1],"using":"a"}""")).Result["points"]!.AsArray();
        Assert.Equal(17.0, Assert.Single(query)!["score"]!.GetValue<double>(), 4);
    }

    [Fact]
    public async Task Update_vectors_of_unknown_point_is_404_and_nothing_changes()
    {
        var name = await Api.CreateRawAsync(_client, "pt_updvec404", """{"vectors":{"a":{"size":2,"distance":"Dot"}}}""");
        await Api.UpsertAsync(_client, name, """[{"id":1,"vector":{"a":[1,2]}}]""");
        var response = await _client.PutAsync($"{Points(name)}/vectors?wait=true", """{"points":[{"id":1,"vector":{"a":[5,5]}},{"id":42,"vector":{"a":[9,8]}}]}""");
        Api.Error(response, HttpStatusCode.NotFound, "42");
        Assert.Equal(1, await Api.CountAsync(_client, name));
        Api.VectorEqual([1, 2], (await Api.GetPointAsync(_client, name, "1"))["vector"]!["a"]);
    }

    [Fact]
    public async Task Delete_vectors_removes_only_the_named_vector()
    {
        var name = await Api.CreateRawAsync(_client, "pt_delvec", """{"vectors":{"a":{"size":2,"distance":"Dot"},"b":{"size":2,"distance":"Dot"}}}""");
        await Api.UpsertAsync(_client, name, """
            [{"id":1,"vector":{"a":[1,2],"b":[3,4]},"payload":{"p":1}},{"id":2,"vector":{"a":[1,1],"b":[1,1]}}]
            """);
        Api.AssertCompleted(Api.Ok(await _client.PostAsync($"{Points(name)}/vectors/delete?wait=true", """{"points":[1],"vector":["a"]}""")));
        var point = await Api.GetPointAsync(_client, name, "1");
        Assert.Equal(["b"], point["vector"]!.AsObject().Select(p => p.Key).ToArray());
        Api.VectorEqual([3, 4], point["vector"]!["b"]);
        Api.JsonEqual("""{"p":1}""", point["payload"]);
        Assert.Equal(2, await Api.CountAsync(_client, name));
        Assert.Equal(["2"], await Api.ScrollIdsAsync(_client, name, """{"must":[{"has_vector":"a"}]}"""));
        Assert.Equal(["1", "2"], await Api.ScrollIdsAsync(_client, name, """{"must":[{"has_vector":"b"}]}"""));
        // A query on "a" no longer finds point 1.
        var query = Api.Ok(await _client.PostAsync($"{Points(name)}/query", """{"query":[1,0],"using":"a","limit":10}""")).Result["points"];
        Assert.Equal(["2"], Api.Ids(query));
    }

    // SERVER BUG (found by this test): operations in a batch are validated against the state before the batch, not
    // applied in order: update_vectors on point 3, upserted by the first operation of the same batch, fails with
    // 404 "No point with id 3 found". Qdrant applies batch operations sequentially.
    [Fact]
    public async Task Batch_applies_all_operation_kinds_in_order()
    {
        var name = await Api.CreateRawAsync(_client, "pt_batchops", """{"vectors":{"a":{"size":2,"distance":"Dot"},"b":{"size":2,"distance":"Dot"}}}""");
        var response = Api.Ok(await _client.PostAsync($"{Points(name)}/batch?wait=true", """
            {"operations":[
              {"upsert":{"points":[
                 {"id":1,"vector":{"a":[1,0],"b":[0,1]},"payload":{"k":1,"drop":true}},
                 {"id":2,"vector":{"a":[2,0],"b":[0,2]},"payload":{"k":2}},
                 {"id":3,"vector":{"a":[3,0],"b":[0,3]},"payload":{"k":3}},
                 {"id":4,"vector":{"a":[4,0],"b":[0,4]},"payload":{"k":4}}]}},
              {"delete":{"points":[4]}},
              {"set_payload":{"payload":{"s":"set"},"points":[1,2]}},
              {"overwrite_payload":{"payload":{"only":true},"points":[2]}},
              {"delete_payload":{"keys":["drop"],"points":[1]}},
              {"clear_payload":{"points":[3]}},
              {"update_vectors":{"points":[{"id":3,"vector":{"a":[7,7]}}]}},
              {"delete_vectors":{"points":[2],"vector":["b"]}},
              {"upsert":{"points":[{"id":4,"vector":{"a":[5,5],"b":[5,5]},"payload":{"back":1}}]}}
            ]}
            """));
        var results = response.Result.AsArray();
        Assert.Equal(9, results.Count);
        Assert.All(results, r => Assert.Equal("completed", r!["status"]!.GetValue<string>()));

        var records = Api.Ok(await _client.PostAsync(Points(name), """{"ids":[1,2,3,4],"with_payload":true,"with_vector":true}""")).Result.AsArray();
        Assert.Equal(["1", "2", "3", "4"], Api.Ids(records));
        Api.JsonEqual("""{"k":1,"s":"set"}""", records[0]!["payload"]);
        Api.JsonEqual("""{"only":true}""", records[1]!["payload"]);
        Api.JsonEqual("{}", records[2]!["payload"]);
        Api.JsonEqual("""{"back":1}""", records[3]!["payload"]);
        Api.VectorEqual([7, 7], records[2]!["vector"]!["a"]);
        Api.VectorEqual([0, 3], records[2]!["vector"]!["b"]);
        Assert.Null(records[1]!["vector"]!["b"]);
        Api.VectorEqual([2, 0], records[1]!["vector"]!["a"]);
        Api.VectorEqual([5, 5], records[3]!["vector"]!["b"]);
    }

    // SERVER BUG (minimal repro of the one above): Collection.ApplyBatchAsync validates every operation against the
    // pre-batch state, so update_vectors on a point upserted earlier in the same batch gets 404.
    [Fact]
    public async Task Batch_later_operations_see_points_upserted_earlier_in_the_batch()
    {
        var name = await Api.CreateAsync(_client, "pt_batchseq", 2, "Dot");
        var response = Api.Ok(await _client.PostAsync($"{Points(name)}/batch?wait=true", """
            {"operations":[
              {"upsert":{"points":[{"id":1,"vector":[1,0],"payload":{"a":1}}]}},
              {"set_payload":{"payload":{"b":2},"points":[1]}},
              {"update_vectors":{"points":[{"id":1,"vector":[0,3]}]}}
            ]}
            """));
        Assert.Equal(3, response.Result.AsArray().Count);
        var point = await Api.GetPointAsync(_client, name, "1");
        Api.JsonEqual("""{"a":1,"b":2}""", point["payload"]);
        Api.VectorEqual([0, 3], point["vector"]);
    }

    [Fact]
    public async Task Batch_delete_then_upsert_of_same_id_ends_with_the_upsert()
    {
        var name = await Api.CreateAsync(_client, "pt_batchdel", 2, "Dot");
        await Api.UpsertAsync(_client, name, """[{"id":1,"vector":[1,0],"payload":{"old":true}},{"id":2,"vector":[1,1]}]""");
        Api.Ok(await _client.PostAsync($"{Points(name)}/batch?wait=true", """
            {"operations":[
              {"delete":{"points":[1,2]}},
              {"upsert":{"points":[{"id":1,"vector":[5,5],"payload":{"new":true}}]}},
              {"delete":{"filter":{"must":[{"key":"new","match":{"value":true}}]}}},
              {"upsert":{"points":[{"id":3,"vector":[2,2]}]}}
            ]}
            """));
        Assert.Equal(["3"], await Api.ScrollIdsAsync(_client, name, "{}"));
    }

    [Fact]
    public async Task Extreme_numeric_ids_round_trip()
    {
        var name = await Api.CreateAsync(_client, "pt_extreme", 2, "Dot");
        await Api.UpsertAsync(_client, name, """[{"id":0,"vector":[1,0]},{"id":18446744073709551615,"vector":[0,1]},{"id":9007199254740993,"vector":[1,1]}]""");
        Assert.Equal(["0", "9007199254740993", "18446744073709551615"], await Api.ScrollIdsAsync(_client, name, "{}"));
        Assert.Equal("18446744073709551615", Api.IdText((await Api.GetPointAsync(_client, name, "18446744073709551615"))["id"]));
        Assert.Equal(["9007199254740993"], Api.Ids(Api.Ok(await _client.PostAsync(Points(name), """{"ids":[9007199254740993]}""")).Result));
    }

    [Fact]
    public async Task Scroll_with_filter_pages_by_offset()
    {
        var name = await Api.CreateAsync(_client, "pt_scroll_f", 2, "Dot");
        await Api.UpsertAsync(_client, name, "[" + string.Join(",", Enumerable.Range(1, 30).Select(i => $$$"""{"id":{{{i}}},"vector":[1,1],"payload":{"m3":{{{i % 3}}} }}""")) + "]");
        const string filter = """{"must":[{"key":"m3","match":{"value":0}}]}""";
        var first = Api.Ok(await _client.PostAsync($"{Points(name)}/scroll", $$$"""{"filter":{{{filter}}},"limit":4}""")).Result;
        Assert.Equal(["3", "6", "9", "12"], Api.Ids(first["points"]));
        Assert.Equal(15, first["next_page_offset"]!.GetValue<long>());
        var second = Api.Ok(await _client.PostAsync($"{Points(name)}/scroll", $$$"""{"filter":{{{filter}}},"limit":4,"offset":13}""")).Result;
        Assert.Equal(["15", "18", "21", "24"], Api.Ids(second["points"]));
        Assert.Equal(27, second["next_page_offset"]!.GetValue<long>());
        var third = Api.Ok(await _client.PostAsync($"{Points(name)}/scroll", $$$"""{"filter":{{{filter}}},"limit":4,"offset":27}""")).Result;
        Assert.Equal(["27", "30"], Api.Ids(third["points"]));
        Assert.Null(third["next_page_offset"]);
    }

    [Fact]
    public async Task Batch_with_an_invalid_operation_applies_nothing()
    {
        var name = await Api.CreateAsync(_client, "pt_batchbad", 2, "Dot");
        await Api.UpsertAsync(_client, name, """[{"id":1,"vector":[1,1],"payload":{"v":1}}]""");
        var response = await _client.PostAsync($"{Points(name)}/batch?wait=true", """
            {"operations":[
              {"upsert":{"points":[{"id":2,"vector":[2,2]}]}},
              {"set_payload":{"payload":{"v":2},"points":[1]}},
              {"delete":{"points":[1]}},
              {"upsert":{"points":[{"id":3,"vector":[1,2,3]}]}}
            ]}
            """);
        Api.Error(response, HttpStatusCode.BadRequest, "dimension");
        Assert.Equal(["1"], await Api.ScrollIdsAsync(_client, name, "{}"));
        Api.JsonEqual("""{"v":1}""", (await Api.GetPointAsync(_client, name, "1"))["payload"]);
    }

    [Fact]
    public async Task Scroll_pages_cover_every_point_once_numeric_before_uuid()
    {
        var name = await Api.CreateAsync(_client, "pt_scroll", 2, "Dot");
        var numeric = new[] { 17, 3, 250, 1, 42, 8, 99, 5, 64, 12, 2, 1000, 31, 7, 500, 21 };
        var uuids = new[] { "ffffffff-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000001", "80000000-0000-0000-0000-000000000000" };
        var points = numeric.Select(i => $$$"""{"id":{{{i}}},"vector":[1,{{{i}}}],"payload":{"n":{{{i}}} } }""")
            .Concat(uuids.Select((u, i) => $$$"""{"id":"{{{u}}}","vector":[0,{{{i}}}],"payload":{"u":{{{i}}} } }"""));
        await Api.UpsertAsync(_client, name, "[" + string.Join(",", points) + "]");

        var expected = numeric.Order().Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .Concat(uuids.Order(StringComparer.Ordinal)).ToArray();

        var seen = new List<string>();
        string? offset = null;
        var pages = 0;
        do
        {
            var body = offset is null ? """{"limit":8}""" : $$$"""{"limit":8,"offset":{{{offset}}} }""";
            var page = Api.Ok(await _client.PostAsync($"{Points(name)}/scroll", body)).Result;
            var records = page["points"]!.AsArray();
            Assert.InRange(records.Count, 1, 8);
            foreach (var r in records)
            {
                Assert.NotNull(r!["payload"]);
                Assert.Null(r["vector"]);
            }

            seen.AddRange(Api.Ids(records));
            var next = page["next_page_offset"];
            offset = next?.ToJsonString();
            pages++;
        }
        while (offset is not null && pages < 10);

        Assert.Equal(expected, seen);
        Assert.Equal(3, pages);
    }

    [Fact]
    public async Task Scroll_defaults_limit_10_payload_on_vector_off()
    {
        var name = await Api.CreateAsync(_client, "pt_scroll_def", 2, "Dot");
        await Api.UpsertAsync(_client, name, "[" + string.Join(",", Enumerable.Range(1, 12).Select(i => $$$"""{"id":{{{i}}},"vector":[{{{i}}},1],"payload":{"i":{{{i}}} } }""")) + "]");
        var page = Api.Ok(await _client.PostAsync($"{Points(name)}/scroll", "{}")).Result;
        Assert.Equal(Enumerable.Range(1, 10).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray(), Api.Ids(page["points"]));
        Assert.Equal(11, page["next_page_offset"]!.GetValue<long>());
        Api.JsonEqual("""{"i":4}""", page["points"]![3]!["payload"]);
        Assert.Null(page["points"]![3]!["vector"]);

        var withVector = Api.Ok(await _client.PostAsync($"{Points(name)}/scroll", """{"offset":11,"with_payload":false,"with_vector":true}""")).Result;
        Assert.Equal(["11", "12"], Api.Ids(withVector["points"]));
        Assert.Null(withVector["next_page_offset"]);
        Assert.Null(withVector["points"]![0]!["payload"]);
        Api.VectorEqual([12, 1], withVector["points"]![1]!["vector"]);
    }

    [Fact]
    public async Task Scroll_order_by_requires_a_numeric_index()
    {
        var name = await Api.CreateAsync(_client, "pt_orderby_noidx", 2, "Dot");
        await Api.UpsertAsync(_client, name, """[{"id":1,"vector":[1,1],"payload":{"price":3}}]""");
        Api.Error(await _client.PostAsync($"{Points(name)}/scroll", """{"order_by":{"key":"price"}}"""), HttpStatusCode.BadRequest, "price");
    }

    [Fact]
    public async Task Scroll_order_by_desc_with_start_from_carries_order_value()
    {
        var name = await Api.CreateAsync(_client, "pt_orderby", 2, "Dot");
        await Api.UpsertAsync(_client, name, """
            [{"id":1,"vector":[1,1],"payload":{"price":30.5}},{"id":2,"vector":[1,1],"payload":{"price":10}},
             {"id":3,"vector":[1,1],"payload":{"price":50}},{"id":4,"vector":[1,1],"payload":{"price":20}},
             {"id":5,"vector":[1,1],"payload":{"other":1}},{"id":6,"vector":[1,1],"payload":{"price":40}}]
            """);
        Api.AssertCompleted(Api.Ok(await _client.PutAsync($"/collections/{name}/index?wait=true", """{"field_name":"price","field_schema":"float"}""")));

        var desc = Api.Ok(await _client.PostAsync($"{Points(name)}/scroll", """{"order_by":{"key":"price","direction":"desc"},"limit":10}""")).Result;
        Assert.Equal(["3", "6", "1", "4", "2"], Api.Ids(desc["points"]));
        Assert.Equal(new double[] { 50, 40, 30.5, 20, 10 }, desc["points"]!.AsArray().Select(p => p!["order_value"]!.GetValue<double>()).ToArray());
        Assert.Null(desc["next_page_offset"]);

        var from = Api.Ok(await _client.PostAsync($"{Points(name)}/scroll", """{"order_by":{"key":"price","direction":"desc","start_from":30.5},"limit":2}""")).Result;
        Assert.Equal(["1", "4"], Api.Ids(from["points"]));
        Assert.Null(from["next_page_offset"]);

        var asc = Api.Ok(await _client.PostAsync($"{Points(name)}/scroll", """{"order_by":{"key":"price","start_from":15},"limit":10,"filter":{"must_not":[{"has_id":[6]}]}}""")).Result;
        Assert.Equal(["4", "1", "3"], Api.Ids(asc["points"]));

        var shorthand = Api.Ok(await _client.PostAsync($"{Points(name)}/scroll", """{"order_by":"price","limit":2}""")).Result;
        Assert.Equal(["2", "4"], Api.Ids(shorthand["points"]));
    }

    [Fact]
    public async Task Count_with_and_without_filter()
    {
        var name = await Api.CreateAsync(_client, "pt_count", 2, "Dot");
        await Api.UpsertAsync(_client, name, "[" + string.Join(",", Enumerable.Range(1, 9).Select(i => $$$"""{"id":{{{i}}},"vector":[{{{i}}},1],"payload":{"even":{{{(i % 2 == 0 ? "true" : "false")}}} } }""")) + "]");
        Assert.Equal(9, await Api.CountAsync(_client, name));
        Assert.Equal(4, await Api.CountAsync(_client, name, """{"must":[{"key":"even","match":{"value":true}}]}"""));
        Assert.Equal(5, await Api.CountAsync(_client, name, """{"must_not":[{"key":"even","match":{"value":true}}]}"""));
        var info = Api.Ok(await _client.GetAsync($"/collections/{name}")).Result;
        Assert.Equal(9, info["points_count"]!.GetValue<long>());
    }

    private static System.Text.Json.Nodes.JsonNode Trim(System.Text.Json.Nodes.JsonNode? record)
    {
        // Compare only the documented record fields (optional shard_key / order_value may be present or not).
        var copy = new System.Text.Json.Nodes.JsonObject
        {
            ["id"] = record!["id"]?.DeepClone(),
            ["payload"] = record["payload"]?.DeepClone(),
            ["vector"] = record["vector"]?.DeepClone(),
        };
        return copy;
    }
}
