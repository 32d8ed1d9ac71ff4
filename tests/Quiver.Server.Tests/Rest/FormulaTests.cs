using System.Net;
using Quiver.Server.Tests.Infrastructure;

namespace Quiver.Server.Tests.Rest;

/// <summary>Score boosting formulas over prefetched points, each expected score worked out by hand.</summary>
[Collection(ServerCollection.Name)]
public sealed class FormulaTests(ServerFixture fixture)
{
    private readonly RestClient _client = fixture.Client;

    private async Task<string> SeedAsync()
    {
        var name = await Api.CreateAsync(_client, "formula", 2, "Dot");
        // Query [1,0] scores by x, [0,1] by y.
        await Api.UpsertAsync(_client, name, """
            [{"id":1,"vector":[0.9,0.1],"payload":{"boost":0,"tag":"a","when":"2026-01-02T00:00:00Z","loc":{"lat":0,"lon":1}}},
             {"id":2,"vector":[0.8,0.3],"payload":{"boost":1,"tag":"b","when":"2026-01-01T00:00:00Z","loc":{"lat":0,"lon":2}}},
             {"id":3,"vector":[0.5,0.6],"payload":{"boost":2,"tag":"a","loc":{"lat":1,"lon":0}}},
             {"id":4,"vector":[0.1,0.9],"payload":{"tag":"c","loc":{"lat":0,"lon":0.5}}}]
            """);
        return name;
    }

    private Task<List<(string Id, double Score)>> QueryAsync(string name, string formula, string defaults = "{}") =>
        Api.QueryScoresAsync(_client, name, $$$"""{"prefetch":{"query":[1,0],"limit":10},"query":{"formula":{{{formula}}},"defaults":{{{defaults}}}}}""");

    [Fact]
    public async Task Sums_products_conditions_and_defaults_rescore_the_prefetched_points()
    {
        var name = await SeedAsync();
        // $score + 0.5·boost + 0.25·(tag = a), boost of point 4 from the defaults: 3 = 0.5 + 1 + 0.25, 2 = 0.8 + 0.5,
        // 1 = 0.9 + 0.25, 4 = 0.1.
        Api.AssertRanked(
            await QueryAsync(name, """{"sum":["$score",{"mult":[0.5,"boost"]},{"mult":[0.25,{"key":"tag","match":{"value":"a"}}]}]}""", """{"boost":0}"""),
            ("3", 1.75), ("2", 1.3), ("1", 1.15), ("4", 0.1));

        // $score[i] is the score in prefetch i; a point a prefetch did not find scores 0 there.
        Api.AssertRanked(
            await Api.QueryScoresAsync(_client, name, """
                {"prefetch":[{"query":[1,0],"limit":4},{"query":[0,1],"limit":2}],"query":{"formula":{"sum":["$score[0]","$score[1]"]}}}
                """),
            ("3", 1.1), ("4", 1.0), ("1", 0.9), ("2", 0.8));

        // Arithmetic: (boost + 1)^2 / 2 - |−1| with point 4's boost 0: 3 = 3.5, 2 = 1, 1 and 4 = -0.5.
        Api.AssertRanked(
            await QueryAsync(name, """{"sum":[{"div":{"left":{"pow":{"base":{"sum":["boost",1]},"exponent":2}},"right":2}},{"neg":{"abs":-1}}]}""", """{"boost":0}"""),
            ("3", 3.5), ("2", 1), ("1", -0.5), ("4", -0.5));
    }

    [Fact]
    public async Task Decays_datetimes_and_geo_distances_follow_qdrants_definitions()
    {
        var name = await SeedAsync();
        // exp: 0.5^|boost - 2|; lin (scale 4, midpoint 0.5): 1 - |boost| / 8; gauss (scale 2): 0.5^(boost² / 4).
        Api.AssertRanked(
            await QueryAsync(name, """{"exp_decay":{"x":"boost","target":2,"scale":1,"midpoint":0.5}}""", """{"boost":0}"""),
            ("3", 1), ("2", 0.5), ("1", 0.25), ("4", 0.25));
        Api.AssertRanked(
            await QueryAsync(name, """{"lin_decay":{"x":"boost","scale":4,"midpoint":0.5}}""", """{"boost":0}"""),
            ("1", 1), ("4", 1), ("2", 0.875), ("3", 0.75));
        Api.AssertRanked(
            await QueryAsync(name, """{"gauss_decay":{"x":"boost","scale":2,"midpoint":0.5}}""", """{"boost":0}"""),
            ("1", 1), ("4", 1), ("2", Math.Pow(0.5, 0.25)), ("3", 0.5));

        // Datetimes in seconds: a day away from the target halves the score at scale one day.
        Api.AssertRanked(
            await QueryAsync(name, """{"exp_decay":{"x":{"datetime_key":"when"},"target":{"datetime":"2026-01-01T00:00:00Z"},"scale":86400,"midpoint":0.5}}""", """{"when":"2026-01-03T00:00:00Z"}"""),
            ("2", 1), ("1", 0.5), ("3", 0.25), ("4", 0.25));

        // Haversine metres from (0,0): a degree of longitude on the equator is 111,195 m; nearest first via neg.
        var metresPerDegree = 6_371_008.8 * Math.PI / 180;
        var geo = await QueryAsync(name, """{"neg":{"geo_distance":{"origin":{"lat":0,"lon":0},"to":"loc"}}}""");
        Assert.Equal(["4", "1", "3", "2"], geo.Select(g => g.Id));
        Assert.Equal(-metresPerDegree, geo[1].Score, 0);
    }

    [Theory]
    [InlineData("""{"query":{"formula":"$score"}}""", "prefetch")]
    [InlineData("""{"prefetch":{"query":[1,0]},"query":{"formula":"$bad"}}""", "unknown variable")]
    [InlineData("""{"prefetch":{"query":[1,0]},"query":{"formula":"boost"}}""", "boost")]
    [InlineData("""{"prefetch":{"query":[1,0]},"query":{"formula":{"div":{"left":1,"right":"boost"}},"defaults":{"boost":0}}}""", "non-finite")]
    [InlineData("""{"prefetch":{"query":[1,0]},"query":{"formula":{"lin_decay":{"x":1,"midpoint":2}}}}""", "midpoint")]
    public async Task Bad_formulas_are_400(string body, string fragment)
    {
        var name = await SeedAsync();
        Api.Error(await _client.PostAsync($"/collections/{name}/points/query", body), HttpStatusCode.BadRequest, fragment);
    }
}
