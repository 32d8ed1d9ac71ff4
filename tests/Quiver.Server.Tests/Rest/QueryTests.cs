using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Quiver.Server.Tests.Infrastructure;

namespace Quiver.Server.Tests.Rest;

[Collection(ServerCollection.Name)]
public sealed class QueryTests(ServerFixture fixture)
{
    private const int Dim = 8;
    private const int Count = 60;

    private readonly RestClient _client = fixture.Client;

    private static readonly double[][] Vectors = Api.RandomVectors(4242, Count, Dim);
    private static readonly double[] QueryVector = Api.RandomVectors(777, 1, Dim)[0];

    /// <summary>Creates a collection with points 1..Count (payload {"i":id,"even":bool}).</summary>
    private async Task<string> SeedAsync(string distance)
    {
        var name = await Api.CreateAsync(_client, "q_" + distance.ToLowerInvariant(), Dim, distance);
        var points = Enumerable.Range(0, Count).Select(i =>
            $$$"""{"id":{{{i + 1}}},"vector":{{{Api.VectorJson(Vectors[i])}}},"payload":{"i":{{{i + 1}}},"even":{{{((i + 1) % 2 == 0 ? "true" : "false")}}} } }""");
        await Api.UpsertAsync(_client, name, "[" + string.Join(",", points) + "]");
        return name;
    }

    /// <summary>Brute-force ranking: (id, score) best first, optionally excluding an id or restricting to a predicate.</summary>
    private static List<(string Id, double Score)> BruteForce(string distance, double[] query, Func<int, bool>? keep = null)
    {
        var scored = Enumerable.Range(1, Count)
            .Where(id => keep?.Invoke(id) ?? true)
            .Select(id => (Id: id.ToString(CultureInfo.InvariantCulture), Score: Api.Score(distance, Vectors[id - 1], query)));
        return (Api.HigherIsBetter(distance) ? scored.OrderByDescending(s => s.Score) : scored.OrderBy(s => s.Score)).ToList();
    }

    private static void AssertRanking(IEnumerable<(string Id, double Score)> expected, JsonNode? points)
    {
        var actual = points!.AsArray();
        var exp = expected.ToList();
        Assert.Equal(exp.Select(e => e.Id).ToArray(), Api.Ids(actual));
        for (var i = 0; i < exp.Count; i++)
        {
            var score = actual[i]!["score"]!.GetValue<double>();
            Assert.True(Math.Abs(exp[i].Score - score) <= 1e-4, $"rank {i} id {exp[i].Id}: expected score {exp[i].Score}, got {score}");
        }
    }

    private async Task<JsonNode> QueryAsync(string name, string body)
        => Api.Ok(await _client.PostAsync($"/collections/{name}/points/query", body)).Result;

    public static TheoryData<string> Distances => new() { "Cosine", "Dot", "Euclid", "Manhattan" };

    [Theory]
    [MemberData(nameof(Distances))]
    public async Task Exact_query_matches_brute_force(string distance)
    {
        var name = await SeedAsync(distance);
        var result = await QueryAsync(name, $$$"""{"query":{{{Api.VectorJson(QueryVector)}}},"limit":7,"params":{"exact":true}}""");
        AssertRanking(BruteForce(distance, QueryVector).Take(7), result["points"]);
    }

    [Theory]
    [MemberData(nameof(Distances))]
    public async Task Default_query_matches_brute_force_on_a_small_collection(string distance)
    {
        var name = await SeedAsync(distance);
        var result = await QueryAsync(name, $$$"""{"query":{"nearest":{{{Api.VectorJson(QueryVector)}}} },"limit":5}""");
        AssertRanking(BruteForce(distance, QueryVector).Take(5), result["points"]);
    }

    [Theory]
    [MemberData(nameof(Distances))]
    public async Task Offset_skips_best_results(string distance)
    {
        var name = await SeedAsync(distance);
        var result = await QueryAsync(name, $$$"""{"query":{{{Api.VectorJson(QueryVector)}}},"limit":4,"offset":3,"params":{"exact":true}}""");
        AssertRanking(BruteForce(distance, QueryVector).Skip(3).Take(4), result["points"]);
    }

    [Theory]
    [MemberData(nameof(Distances))]
    public async Task Score_threshold_keeps_only_close_enough(string distance)
    {
        var name = await SeedAsync(distance);
        var ranking = BruteForce(distance, QueryVector);
        // Between the 5th and 6th best: similarity >= t keeps 5, distance <= t keeps 5.
        var threshold = (ranking[4].Score + ranking[5].Score) / 2;
        var result = await QueryAsync(name, $$$"""{"query":{{{Api.VectorJson(QueryVector)}}},"limit":20,"score_threshold":{{{threshold.ToString("R", CultureInfo.InvariantCulture)}}},"params":{"exact":true}}""");
        AssertRanking(ranking.Take(5), result["points"]);
    }

    [Theory]
    [MemberData(nameof(Distances))]
    public async Task Query_by_point_id_uses_its_vector_and_excludes_it(string distance)
    {
        var name = await SeedAsync(distance);
        const int id = 17;
        var result = await QueryAsync(name, $$$"""{"query":{{{id}}},"limit":6}""");
        var expected = BruteForce(distance, Vectors[id - 1], other => other != id).Take(6);
        AssertRanking(expected, result["points"]);
    }

    [Fact]
    public async Task Default_limit_is_10_and_payload_vector_are_off()
    {
        var name = await SeedAsync("Dot");
        var result = await QueryAsync(name, $$$"""{"query":{{{Api.VectorJson(QueryVector)}}} }""");
        var points = result["points"]!.AsArray();
        AssertRanking(BruteForce("Dot", QueryVector).Take(10), points);
        Assert.All(points, p =>
        {
            Assert.Null(p!["payload"]);
            Assert.Null(p["vector"]);
            Assert.True(p["version"]!.GetValue<long>() >= 0);
        });
    }

    [Fact]
    public async Task With_payload_and_vector_return_them()
    {
        var name = await SeedAsync("Cosine");
        var result = await QueryAsync(name, $$$"""{"query":{{{Api.VectorJson(QueryVector)}}},"limit":3,"with_payload":true,"with_vector":true}""");
        var ranking = BruteForce("Cosine", QueryVector).Take(3).ToList();
        var points = result["points"]!.AsArray();
        AssertRanking(ranking, points);
        for (var i = 0; i < 3; i++)
        {
            var id = int.Parse(ranking[i].Id, CultureInfo.InvariantCulture);
            Api.JsonEqual($$$"""{"i":{{{id}}},"even":{{{(id % 2 == 0 ? "true" : "false")}}} }""", points[i]!["payload"]);
            Api.VectorEqual(Api.Normalize(Vectors[id - 1]), points[i]!["vector"]);
        }

        var selected = await QueryAsync(name, $$$"""{"query":{{{Api.VectorJson(QueryVector)}}},"limit":1,"with_payload":["even"]}""");
        var top = int.Parse(ranking[0].Id, CultureInfo.InvariantCulture);
        Api.JsonEqual($$$"""{"even":{{{(top % 2 == 0 ? "true" : "false")}}} }""", selected["points"]![0]!["payload"]);
    }

    [Theory]
    [MemberData(nameof(Distances))]
    public async Task Filtered_query_ranks_only_matching_points(string distance)
    {
        var name = await SeedAsync(distance);
        var result = await QueryAsync(name, $$$"""
            {"query":{{{Api.VectorJson(QueryVector)}}},"limit":8,"filter":{"must":[{"key":"even","match":{"value":true}},{"key":"i","range":{"lte":40}}]}}
            """);
        AssertRanking(BruteForce(distance, QueryVector, id => id % 2 == 0 && id <= 40).Take(8), result["points"]);
    }

    [Fact]
    public async Task Query_batch_answers_each_search()
    {
        var name = await SeedAsync("Euclid");
        var second = Vectors[3];
        var response = Api.Ok(await _client.PostAsync($"/collections/{name}/points/query/batch", $$$"""
            {"searches":[
              {"query":{{{Api.VectorJson(QueryVector)}}},"limit":3},
              {"query":{{{Api.VectorJson(second)}}},"limit":2,"filter":{"must_not":[{"has_id":[4]}]}},
              {"query":5,"limit":4,"offset":1}
            ]}
            """)).Result.AsArray();
        Assert.Equal(3, response.Count);
        AssertRanking(BruteForce("Euclid", QueryVector).Take(3), response[0]!["points"]);
        AssertRanking(BruteForce("Euclid", second, id => id != 4).Take(2), response[1]!["points"]);
        AssertRanking(BruteForce("Euclid", Vectors[4], id => id != 5).Skip(1).Take(4), response[2]!["points"]);
    }

    [Fact]
    public async Task Named_vector_query_uses_the_requested_space()
    {
        var name = await Api.CreateRawAsync(_client, "q_named", """{"vectors":{"a":{"size":2,"distance":"Dot"},"b":{"size":3,"distance":"Euclid"}}}""");
        await Api.UpsertAsync(_client, name, """
            [{"id":1,"vector":{"a":[1,0],"b":[0,0,0]}},
             {"id":2,"vector":{"a":[0,2],"b":[1,1,1]}},
             {"id":3,"vector":{"a":[3,3],"b":[5,5,5]}},
             {"id":4,"vector":{"b":[0,0,1]}}]
            """);
        var byA = await QueryAsync(name, """{"query":[1,1],"using":"a"}""");
        AssertRanking([("3", 6.0), ("2", 2.0), ("1", 1.0)], byA["points"]);

        var byB = await QueryAsync(name, """{"query":[0,0,0],"using":"b","limit":3}""");
        AssertRanking([("1", 0.0), ("4", 1.0), ("2", Math.Sqrt(3))], byB["points"]);

        var byId = await QueryAsync(name, """{"query":2,"using":"b","limit":2}""");
        AssertRanking([("4", Math.Sqrt(2)), ("1", Math.Sqrt(3))], byId["points"]);
    }

    [Fact]
    public async Task Query_by_missing_point_id_is_404()
    {
        var name = await Api.CreateAsync(_client, "q_missing_id", 2, "Dot");
        await Api.UpsertAsync(_client, name, """[{"id":1,"vector":[1,0]}]""");
        Api.Error(await _client.PostAsync($"/collections/{name}/points/query", """{"query":999}"""), HttpStatusCode.NotFound, "999");
    }

    [Fact]
    public async Task Query_with_wrong_dimension_is_400()
    {
        var name = await Api.CreateAsync(_client, "q_dim", 4, "Dot");
        await Api.UpsertAsync(_client, name, """[{"id":1,"vector":[1,0,0,0]}]""");
        Api.Error(await _client.PostAsync($"/collections/{name}/points/query", """{"query":[1,0,0]}"""), HttpStatusCode.BadRequest, "dimension");
    }

    [Fact]
    public async Task Query_with_unknown_vector_name_is_400()
    {
        var name = await Api.CreateRawAsync(_client, "q_badname", """{"vectors":{"a":{"size":2,"distance":"Dot"}}}""");
        await Api.UpsertAsync(_client, name, """[{"id":1,"vector":{"a":[1,0]}}]""");
        Api.Error(await _client.PostAsync($"/collections/{name}/points/query", """{"query":[1,0],"using":"nonexistent_vec"}"""), HttpStatusCode.BadRequest, "nonexistent_vec");
    }

    [Fact]
    public async Task Empty_collection_query_returns_no_points()
    {
        var name = await Api.CreateAsync(_client, "q_empty", 2, "Cosine");
        var result = await QueryAsync(name, """{"query":[1,0]}""");
        Assert.Empty(result["points"]!.AsArray());
    }
}

/// <summary><c>quantization_config</c> and <c>params.quantization</c> over REST.</summary>
[Collection(ServerCollection.Name)]
public sealed class QuantizedQueryTests(ServerFixture fixture)
{
    private const int Dim = 8;
    private const int Count = 300;
    private static readonly double[][] Vectors = Api.RandomVectors(99, Count, Dim);
    private static readonly double[] QueryVector = Api.RandomVectors(5, 1, Dim)[0];
    private readonly RestClient _client = fixture.Client;

    private static string Payload(int id) => "{\"n\":\"p" + id.ToString(CultureInfo.InvariantCulture) + "\"}";

    private static string Query(string quantization) =>
        """{"query":""" + Api.VectorJson(QueryVector) + ""","limit":5,"params":{"hnsw_ef":128,"quantization":""" + quantization + "}}";

    private async Task<string> SeedIndexedAsync(bool payloads = false, bool payloadsOnDisk = true)
    {
        var onDisk = payloadsOnDisk ? string.Empty : ""","on_disk_payload":false""";
        var name = await Api.CreateRawAsync(_client, "quant", $$$"""{"vectors":{"size":8,"distance":"Euclid"},"hnsw_config":{"full_scan_threshold":1},"optimizers_config":{"indexing_threshold":0},"quantization_config":{"scalar":{"type":"int8","always_ram":true}}{{{onDisk}}}}""");
        var points = Enumerable.Range(0, Count).Select(i => $$"""{"id":{{i + 1}},"vector":{{Api.VectorJson(Vectors[i])}}{{(payloads ? ",\"payload\":" + Payload(i + 1) : string.Empty)}}}""");
        await Api.UpsertAsync(_client, name, "[" + string.Join(",", points) + "]");
        Api.Ok(await _client.PatchAsync($"/collections/{name}", """{"optimizers_config":{"indexing_threshold":1}}"""));
        for (var i = 0; i < 400; i++)
        {
            var info = Api.Ok(await _client.GetAsync($"/collections/{name}")).Result;
            if (info["status"]!.GetValue<string>() == "green" && info["indexed_vectors_count"]!.GetValue<long>() >= Count)
                return name;
            await Task.Delay(50);
        }

        throw new TimeoutException("the collection was not indexed");
    }

    [Fact]
    public async Task Rescored_results_carry_exact_scores_and_codes_alone_approximate_them()
    {
        var name = await SeedIndexedAsync();
        var expected = Enumerable.Range(1, Count).Select(id => (Id: id.ToString(CultureInfo.InvariantCulture), Score: Api.Score("Euclid", Vectors[id - 1], QueryVector)))
            .OrderBy(s => s.Score).Take(5).ToArray();

        var rescored = Api.Ok(await _client.PostAsync($"/collections/{name}/points/query", Query("""{"rescore":true,"oversampling":3}"""))).Result["points"]!.AsArray();
        Assert.Equal(expected.Select(e => e.Id).ToArray(), Api.Ids(rescored));
        for (var i = 0; i < expected.Length; i++)
            Assert.Equal(expected[i].Score, rescored[i]!["score"]!.GetValue<double>(), 1e-4);

        var codesOnly = Api.Ok(await _client.PostAsync($"/collections/{name}/points/query", Query("""{"rescore":false}"""))).Result["points"]!.AsArray();
        var deviations = codesOnly.Select(p => Math.Abs(p!["score"]!.GetValue<double>() - Api.Score("Euclid", Vectors[int.Parse(Api.IdText(p["id"]), CultureInfo.InvariantCulture) - 1], QueryVector))).ToArray();
        Assert.All(deviations, d => Assert.True(d < 0.05, $"a code score is off by {d}"));
        Assert.Contains(deviations, d => d > 1e-6);

        var ignored = Api.Ok(await _client.PostAsync($"/collections/{name}/points/query", Query("""{"ignore":true,"rescore":false}"""))).Result["points"]!.AsArray();
        Assert.Equal(expected.Select(e => e.Id).ToArray(), Api.Ids(ignored));
        Assert.Equal(expected[0].Score, ignored[0]!["score"]!.GetValue<double>(), 1e-4);
    }

    [Fact]
    public async Task Telemetry_reports_each_segment_s_memory_by_component_and_its_files()
    {
        // Payloads on every point, {"n":"p<id>"}, uploaded with the points (a later payload change would move the
        // point out of the indexed segment), held in memory (on_disk_payload false).
        var name = await SeedIndexedAsync(payloads: true, payloadsOnDisk: false);
        var telemetry = Api.Ok(await _client.GetAsync("/telemetry?details_level=2")).Result;
        var mine = telemetry["collections"]!["collections"]!.AsArray().Single(c => c!["id"]!.GetValue<string>() == name)!;
        var segments = mine["segments"]!.AsArray();
        var indexed = segments.Single(s => s!["kind"]!.GetValue<string>() == "indexed")!;
        Assert.Equal(Count, indexed["points"]!.GetValue<long>());
        var ram = indexed["ram_bytes"]!;
        Assert.Equal(Count * (sizeof(int) + 8) + 32, ram["codes"]!.GetValue<long>()); // int8 codes of 8 components, a sum a row, one spare block
        Assert.True(ram["graph"]!.GetValue<long>() > 0);
        Assert.True(ram["vectors"]!.GetValue<long>() >= Count * 8 * sizeof(float));
        // Each payload is {"n":"p<id>"} as UTF-8.
        var payloadBytes = Enumerable.Range(1, Count).Sum(id => Payload(id).Length);
        Assert.Equal(payloadBytes, segments.Sum(s => s!["ram_bytes"]!["payload"]!.GetValue<long>()));
        Assert.True(indexed["disk_bytes"]!.GetValue<long>() > 0, indexed.ToJsonString());
        Assert.Equal(segments.Sum(s => s!["ram_bytes"]!["total"]!.GetValue<long>()), mine["ram_bytes"]!["total"]!.GetValue<long>());
        Assert.Equal(segments.Sum(s => s!["disk_bytes"]!.GetValue<long>()), mine["disk_bytes"]!["segments"]!.GetValue<long>());
        Assert.True(mine["disk_bytes"]!["wal"]!.GetValue<long>() > 0);
    }

    [Fact]
    public async Task Payloads_on_disk_by_default_cost_an_indexed_segment_no_memory_and_still_read_back()
    {
        var name = await SeedIndexedAsync(payloads: true);
        var telemetry = Api.Ok(await _client.GetAsync("/telemetry?details_level=2")).Result;
        var mine = telemetry["collections"]!["collections"]!.AsArray().Single(c => c!["id"]!.GetValue<string>() == name)!;
        var indexed = mine["segments"]!.AsArray().Single(s => s!["kind"]!.GetValue<string>() == "indexed")!;
        Assert.Equal(Count, indexed["points"]!.GetValue<long>());
        Assert.Equal(0, indexed["ram_bytes"]!["payload"]!.GetValue<long>());

        var points = Api.Ok(await _client.PostAsync($"/collections/{name}/points", """{"ids":[1,150,300],"with_payload":true}""")).Result.AsArray();
        Assert.Equal(["1", "150", "300"], points.Select(p => Api.IdText(p!["id"])).Order(StringComparer.Ordinal).ToArray());
        Assert.All(points, p => Assert.Equal("p" + Api.IdText(p!["id"]), p!["payload"]!["n"]!.GetValue<string>()));
    }

    [Theory]
    [InlineData("""{"oversampling":0.5}""", "params.quantization.oversampling")]
    [InlineData("""{"oversampling":1000}""", "params.quantization.oversampling")]
    [InlineData("""{"oversampling":"2"}""", "params.quantization.oversampling")]
    [InlineData("""{"rescore":"yes"}""", "params.quantization.rescore")]
    [InlineData("""{"ignore":1}""", "params.quantization.ignore")]
    [InlineData("[]", "params.quantization")]
    public async Task Bad_quantization_params_are_400(string quantization, string field)
    {
        var name = await Api.CreateAsync(_client, "quant_bad", 2, "Dot");
        Api.Error(await _client.PostAsync($"/collections/{name}/points/query", """{"query":[1,0],"params":{"quantization":""" + quantization + "}}"), HttpStatusCode.BadRequest, field);
    }

    [Fact]
    public async Task Unsupported_quantization_kinds_are_refused_at_creation_and_update()
    {
        Api.Error(await _client.PutAsync("/collections/quant_product", """{"vectors":{"size":4,"distance":"Dot"},"quantization_config":{"product":{"compression":"x3"}}}"""), HttpStatusCode.BadRequest, "quantization_config.product.compression");
        Api.Error(await _client.PutAsync("/collections/quant_binary", """{"vectors":{"size":4,"distance":"Dot"},"quantization_config":{"binary":{"encoding":"4bits"}}}"""), HttpStatusCode.BadRequest, "quantization_config.binary.encoding");
        var name = await Api.CreateAsync(_client, "quant_patch", 4, "Dot");
        Api.Error(await _client.PatchAsync($"/collections/{name}", """{"quantization_config":{"scalar":{"type":"int8","quantile":2}}}"""), HttpStatusCode.BadRequest, "quantization_config.scalar.quantile");
        Api.Ok(await _client.PatchAsync($"/collections/{name}", """{"quantization_config":{"scalar":{"type":"int8","quantile":0.99}}}"""));
        var info = Api.Ok(await _client.GetAsync($"/collections/{name}")).Result;
        Assert.Equal(0.99, info["config"]!["quantization_config"]!["scalar"]!["quantile"]!.GetValue<double>());
        Api.Ok(await _client.PatchAsync($"/collections/{name}", """{"quantization_config":"Disabled"}"""));
        info = Api.Ok(await _client.GetAsync($"/collections/{name}")).Result;
        Assert.Null(info["config"]!["quantization_config"]);
    }
}
