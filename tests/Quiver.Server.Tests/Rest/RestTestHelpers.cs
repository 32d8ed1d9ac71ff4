using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Quiver.Server.Tests.Infrastructure;

namespace Quiver.Server.Tests.Rest;

/// <summary>Shared helpers for the REST integration tests: create collections, upsert, read ids, check envelopes.</summary>
internal static class Api
{
    /// <summary>Creates a collection with one unnamed vector and returns its (unique) name.</summary>
    public static Task<string> CreateAsync(RestClient client, string prefix, int size = 4, string distance = "Cosine")
        => CreateRawAsync(client, prefix, $$$"""{"vectors":{"size":{{{size}}},"distance":"{{{distance}}}"}}""");

    /// <summary>Creates a collection from a raw create body and returns its (unique) name.</summary>
    public static async Task<string> CreateRawAsync(RestClient client, string prefix, string body)
    {
        var name = ServerFixture.UniqueName(prefix);
        var response = Ok(await client.PutAsync($"/collections/{name}", body));
        Assert.True(response.Result.GetValue<bool>(), response.Text);
        return name;
    }

    /// <summary>Upserts <paramref name="pointsJson"/> (a JSON array of points) with wait=true; checks the update result.</summary>
    public static async Task UpsertAsync(RestClient client, string collection, string pointsJson)
    {
        var response = Ok(await client.PutAsync($"/collections/{collection}/points?wait=true", $$$"""{"points":{{{pointsJson}}} }"""));
        AssertCompleted(response);
    }

    public static void AssertCompleted(RestResponse response)
    {
        Assert.Equal("completed", response.Result["status"]?.GetValue<string>());
        Assert.Equal(JsonValueKind.Number, response.Result["operation_id"]?.GetValueKind());
    }

    /// <summary>Asserts 200 with the Qdrant envelope {"result","status":"ok","time"}.</summary>
    public static RestResponse Ok(RestResponse response)
    {
        Assert.True(response.Status == HttpStatusCode.OK, $"expected 200, got {(int)response.Status}: {response.Text}");
        Assert.Equal("ok", response.Json?["status"]?.GetValue<string>());
        Assert.Equal(JsonValueKind.Number, response.Json?["time"]?.GetValueKind());
        return response;
    }

    /// <summary>Asserts a status code with the error envelope {"status":{"error":...},"time"} and message fragments.</summary>
    public static void Error(RestResponse response, HttpStatusCode status, params string[] fragments)
    {
        Assert.True(response.Status == status, $"expected {(int)status}, got {(int)response.Status}: {response.Text}");
        var error = response.Error;
        Assert.False(string.IsNullOrWhiteSpace(error), $"no error envelope: {response.Text}");
        Assert.Equal(JsonValueKind.Number, response.Json?["time"]?.GetValueKind());
        foreach (var fragment in fragments)
            Assert.True(error!.Contains(fragment, StringComparison.OrdinalIgnoreCase), $"error '{error}' does not mention '{fragment}'");
    }

    /// <summary>A <c>points/query</c> request's (id, score) list, in order.</summary>
    public static async Task<List<(string Id, double Score)>> QueryScoresAsync(RestClient client, string collection, string body) =>
        [.. Ok(await client.PostAsync($"/collections/{collection}/points/query", body)).Result["points"]!.AsArray()
            .Select(p => (IdText(p!["id"]), p["score"]!.GetValue<double>()))];

    /// <summary>Asserts the ids in order and each score to 4 decimals.</summary>
    public static void AssertRanked(List<(string Id, double Score)> found, params (string Id, double Score)[] expected)
    {
        Assert.Equal(expected.Select(e => e.Id), found.Select(f => f.Id));
        for (var i = 0; i < expected.Length; i++)
            Assert.Equal(expected[i].Score, found[i].Score, 4);
    }

    /// <summary>A point id as text: numbers in invariant form, UUIDs as returned.</summary>
    public static string IdText(JsonNode? id)
    {
        Assert.NotNull(id);
        return id.GetValueKind() switch
        {
            JsonValueKind.Number => id.GetValue<ulong>().ToString(CultureInfo.InvariantCulture),
            JsonValueKind.String => id.GetValue<string>(),
            _ => throw new InvalidOperationException("not an id: " + id.ToJsonString()),
        };
    }

    /// <summary>The ids of an array of records / scored points, in order.</summary>
    public static string[] Ids(JsonNode? points)
    {
        Assert.NotNull(points);
        return points.AsArray().Select(p => IdText(p?["id"])).ToArray();
    }

    public static string[] Sorted(IEnumerable<string> ids) => ids.Order(StringComparer.Ordinal).ToArray();

    /// <summary>All ids matching a filter via scroll (one page, large limit); checks there is no further page.</summary>
    public static async Task<string[]> ScrollIdsAsync(RestClient client, string collection, string filterJson)
    {
        var response = Ok(await client.PostAsync($"/collections/{collection}/points/scroll", $$$"""{"filter":{{{filterJson}}},"limit":1000,"with_payload":false}"""));
        Assert.Null(response.Result["next_page_offset"]);
        return Ids(response.Result["points"]);
    }

    public static async Task<long> CountAsync(RestClient client, string collection, string? filterJson = null)
    {
        var body = filterJson is null ? """{"exact":true}""" : $$$"""{"filter":{{{filterJson}}},"exact":true}""";
        var response = Ok(await client.PostAsync($"/collections/{collection}/points/count", body));
        return response.Result["count"]!.GetValue<long>();
    }

    public static async Task<JsonNode> GetPointAsync(RestClient client, string collection, string id)
        => Ok(await client.GetAsync($"/collections/{collection}/points/{id}")).Result;

    /// <summary>Semantic JSON equality (numbers by value, object key order ignored).</summary>
    public static void JsonEqual(string expectedJson, JsonNode? actual)
    {
        var expected = JsonNode.Parse(expectedJson);
        Assert.True(JsonNode.DeepEquals(expected, actual), $"expected {expected?.ToJsonString()}\n  actual {actual?.ToJsonString() ?? "null"}");
    }

    public static void VectorEqual(IReadOnlyList<double> expected, JsonNode? actual, double tolerance = 1e-4)
    {
        Assert.NotNull(actual);
        var values = actual.AsArray().Select(v => v!.GetValue<double>()).ToArray();
        Assert.Equal(expected.Count, values.Length);
        for (var i = 0; i < values.Length; i++)
            Assert.True(Math.Abs(expected[i] - values[i]) <= tolerance, $"component {i}: expected {expected[i]}, got {values[i]} ({actual.ToJsonString()})");
    }

    public static double[] Normalize(IReadOnlyList<double> v)
    {
        var norm = Math.Sqrt(v.Sum(x => x * x));
        return v.Select(x => x / norm).ToArray();
    }

    /// <summary>Brute-force score as the API reports it (Cosine/Dot similarity, Euclid/Manhattan distance).</summary>
    public static double Score(string distance, IReadOnlyList<double> a, IReadOnlyList<double> b) => distance switch
    {
        "Cosine" => Dot(Normalize(a), Normalize(b)),
        "Dot" => Dot(a, b),
        "Euclid" => Math.Sqrt(a.Zip(b, (x, y) => (x - y) * (x - y)).Sum()),
        "Manhattan" => a.Zip(b, (x, y) => Math.Abs(x - y)).Sum(),
        _ => throw new ArgumentOutOfRangeException(nameof(distance)),
    };

    /// <summary>True when a higher score is closer.</summary>
    public static bool HigherIsBetter(string distance) => distance is "Cosine" or "Dot";

    public static double Dot(IReadOnlyList<double> a, IReadOnlyList<double> b) => a.Zip(b, (x, y) => x * y).Sum();

    /// <summary>Deterministic random vectors with components in [-1, 1), rounded to 4 decimals (exact in JSON).</summary>
    public static double[][] RandomVectors(int seed, int count, int dim)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count)
            .Select(_ => Enumerable.Range(0, dim).Select(_ => Math.Round((random.NextDouble() * 2) - 1, 4)).ToArray())
            .ToArray();
    }

    public static string VectorJson(IReadOnlyList<double> v) => "[" + string.Join(",", v.Select(x => x.ToString("R", CultureInfo.InvariantCulture))) + "]";
}
