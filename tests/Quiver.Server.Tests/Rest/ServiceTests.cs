using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Quiver.Server.Tests.Infrastructure;

namespace Quiver.Server.Tests.Rest;

[Collection(ServerCollection.Name)]
public sealed class ServiceTests(ServerFixture fixture)
{
    private readonly RestClient _client = fixture.Client;

    [Fact]
    public async Task Root_returns_bare_version_info_without_envelope()
    {
        var response = await _client.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.NotNull(response.Json);
        Assert.Equal("1.19.0", response.Json["version"]?.GetValue<string>());
        Assert.Equal(JsonValueKind.String, response.Json["title"]?.GetValueKind());
        Assert.False(string.IsNullOrWhiteSpace(response.Json["title"]!.GetValue<string>()));
        Assert.Equal(JsonValueKind.String, response.Json["quiver_version"]?.GetValueKind());
        Assert.False(string.IsNullOrWhiteSpace(response.Json["quiver_version"]!.GetValue<string>()));
        Assert.Null(response.Json["result"]);
        Assert.Null(response.Json["status"]);
    }

    [Theory]
    [InlineData("/healthz")]
    [InlineData("/livez")]
    [InlineData("/readyz")]
    public async Task Health_probes_answer_200_with_text(string path)
    {
        var response = await _client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.False(string.IsNullOrWhiteSpace(response.Text));
    }

    [Fact]
    public async Task Telemetry_has_the_spec_shape_at_each_details_level()
    {
        var name = ServerFixture.UniqueName("telemetry");
        (await _client.PutAsync($"/collections/{name}", new { vectors = new { size = 2, distance = "Dot" } })).EnsureOk();
        (await _client.PutAsync($"/collections/{name}/points?wait=true", """{"points":[{"id":1,"vector":[1,0]},{"id":2,"vector":[0,1]}]}""")).EnsureOk();

        var minimal = (await _client.GetAsync("/telemetry")).EnsureOk().Result;
        Assert.False(string.IsNullOrEmpty(minimal["id"]!.GetValue<string>()));
        Assert.Equal("quiver", minimal["app"]!["name"]!.GetValue<string>());
        Assert.True(DateTimeOffset.Parse(minimal["app"]!["startup"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture) <= DateTimeOffset.UtcNow);
        var count = (await _client.GetAsync("/collections")).Result["collections"]!.AsArray().Count;
        Assert.Equal(count, minimal["collections"]!["number_of_collections"]!.GetValue<int>());
        Assert.Null(minimal["collections"]!["collections"]);
        foreach (var field in new[] { "active_bytes", "allocated_bytes", "metadata_bytes", "resident_bytes", "retained_bytes" })
            Assert.True(minimal["memory"]![field]!.GetValue<long>() >= 0, field);
        Assert.True(minimal["memory"]!["resident_bytes"]!.GetValue<long>() > 0);

        var aggregated = (await _client.GetAsync("/telemetry?details_level=1")).EnsureOk().Result["collections"]!["collections"]!.AsArray();
        Assert.Equal(count, aggregated.Count);
        Assert.All(aggregated, c => Assert.NotNull(c!["params"]));

        var full = (await _client.GetAsync("/telemetry?details_level=2")).EnsureOk().Result["collections"]!["collections"]!.AsArray();
        var mine = full.Single(c => c!["id"]!.GetValue<string>() == name)!;
        Assert.Equal(2, mine["points_count"]!.GetValue<long>());
        Assert.Equal(2, mine["config"]!["params"]!["vectors"]!["size"]!.GetValue<int>());
        Assert.True(mine["ram_bytes"]!["vectors"]!.GetValue<long>() > 0);

        Assert.Equal(HttpStatusCode.BadRequest, (await _client.GetAsync("/telemetry?details_level=-1")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await _client.GetAsync("/telemetry?anonymize=perhaps")).Status);
    }

    [Fact]
    public async Task Telemetry_counts_responses_per_endpoint_and_status()
    {
        var name = ServerFixture.UniqueName("reqstats");
        (await _client.PutAsync($"/collections/{name}", new { vectors = new { size = 2, distance = "Dot" } })).EnsureOk();
        const string Count = "POST /collections/{name}/points/count";
        static JsonNode? Stats(JsonNode telemetry, string status) => telemetry["requests"]!["rest"]!["responses"]![Count]?[status];
        var before = (await _client.GetAsync("/telemetry")).EnsureOk().Result;
        var ok0 = Stats(before, "200")?["count"]?.GetValue<long>() ?? 0;
        var bad0 = Stats(before, "400")?["count"]?.GetValue<long>() ?? 0;

        for (var i = 0; i < 3; i++)
            (await _client.PostAsync($"/collections/{name}/points/count", """{"exact":true}""")).EnsureOk();
        Assert.Equal(HttpStatusCode.BadRequest, (await _client.PostAsync($"/collections/{name}/points/count", """{"exact":"yes"}""")).Status);

        var after = (await _client.GetAsync("/telemetry")).EnsureOk().Result;
        var ok = Stats(after, "200")!;
        Assert.Equal(ok0 + 3, ok["count"]!.GetValue<long>());
        Assert.Equal(bad0 + 1, Stats(after, "400")!["count"]!.GetValue<long>());
        var min = ok["min_duration_micros"]!.GetValue<double>();
        var avg = ok["avg_duration_micros"]!.GetValue<double>();
        var max = ok["max_duration_micros"]!.GetValue<double>();
        Assert.True(min > 0 && min <= avg && avg <= max, $"min {min} avg {avg} max {max}");
        Assert.True(ok["total_duration_micros"]!.GetValue<long>() >= (long)(min * 3) - 1);
        Assert.True(DateTimeOffset.Parse(ok["last_responded"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture) <= DateTimeOffset.UtcNow);
        Assert.NotNull(after["requests"]!["grpc"]!["responses"]);
    }
}
