using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Quiver.Server.Tests.Infrastructure;

namespace Quiver.Server.Tests.Rest;

/// <summary>GET /metrics: Prometheus text that moves with the requests made.</summary>
[Collection(ServerCollection.Name)]
public sealed partial class MetricsTests(ServerFixture fixture)
{
    private readonly RestClient _client = fixture.Client;

    [Fact]
    public async Task Metrics_appear_and_move_after_requests()
    {
        var name = ServerFixture.UniqueName("metrics");
        (await _client.PutAsync($"/collections/{name}", new { vectors = new { size = 2, distance = "Dot" } })).EnsureOk();
        (await _client.PutAsync($"/collections/{name}/points?wait=true", """{"points":[{"id":1,"vector":[1,0]},{"id":2,"vector":[0,1]},{"id":3,"vector":[1,1]}]}""")).EnsureOk();

        var before = await ScrapeAsync();
        Assert.Equal(3, Value(before, "quiver_collection_points", $"collection=\"{name}\""));
        Assert.Equal(0, Value(before, "quiver_search_duration_seconds_count", $"collection=\"{name}\""));
        Assert.True(Value(before, "quiver_wal_fsync_duration_seconds_count") >= 1, "the upsert was fsynced");
        Assert.True(Value(before, "quiver_collection_memory_bytes", $"collection=\"{name}\"", "component=\"vectors\"") > 0);
        Assert.Contains("dotnet_gc_", before, StringComparison.Ordinal);
        var queryRoute = "http_route=\"/collections/{name}/points/query\"";
        // The server is shared with the other tests of its collection (which run one after another): compare deltas.
        var queriesBefore = Value(before, "http_server_request_duration_seconds_count", queryRoute, "http_response_status_code=\"200\"");
        var badQueriesBefore = Value(before, "http_server_request_duration_seconds_count", queryRoute, "http_response_status_code=\"400\"");

        for (var i = 0; i < 5; i++)
            (await _client.PostAsync($"/collections/{name}/points/query", """{"query":[0.3,0.7],"limit":2}""")).EnsureOk();
        Assert.Equal(HttpStatusCode.BadRequest, (await _client.PostAsync($"/collections/{name}/points/query", """{"query":[1,2,3]}""")).Status);
        (await _client.PutAsync($"/collections/{name}/points?wait=true", """{"points":[{"id":4,"vector":[2,1]}]}""")).EnsureOk();

        var after = await ScrapeAsync();
        Assert.Equal(queriesBefore + 5, Value(after, "http_server_request_duration_seconds_count", queryRoute, "http_response_status_code=\"200\""));
        Assert.Equal(badQueriesBefore + 1, Value(after, "http_server_request_duration_seconds_count", queryRoute, "http_response_status_code=\"400\""));
        Assert.Equal(5, Value(after, "quiver_search_duration_seconds_count", $"collection=\"{name}\""));
        Assert.Equal(4, Value(after, "quiver_collection_points", $"collection=\"{name}\""));
        Assert.Equal(1, Value(after, "quiver_collection_segments", $"collection=\"{name}\""));
    }

    private async Task<string> ScrapeAsync()
    {
        var response = await _client.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.Status);
        return response.Text;
    }

    /// <summary>The value of the series named <paramref name="metric"/> whose labels include all of <paramref name="labels"/> (0 when absent).</summary>
    private static double Value(string text, string metric, params string[] labels)
    {
        double? found = null;
        foreach (Match match in SeriesLine().Matches(text))
        {
            if (match.Groups["name"].Value != metric || !labels.All(l => match.Groups["labels"].Value.Contains(l, StringComparison.Ordinal)))
                continue;
            Assert.True(found is null, $"several {metric} series match {string.Join(", ", labels)}");
            found = double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture);
        }

        return found ?? 0;
    }

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?<labels>(?:[^"}]|"(?:[^"\\]|\\.)*")*)\})? (?<value>[-+0-9.eE]+|NaN|[+-]Inf)(?: [0-9]+)?$""", RegexOptions.Multiline)]
    private static partial Regex SeriesLine();
}
