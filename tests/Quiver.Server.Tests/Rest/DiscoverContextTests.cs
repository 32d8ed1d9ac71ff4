using System.Net;
using Quiver.Server.Tests.Infrastructure;

namespace Quiver.Server.Tests.Rest;

/// <summary>
/// Discovery, context search and order_by in the query API, on hand-made 2-D points (Euclid: similarity is minus
/// the squared distance) with every expected score worked out by hand.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class DiscoverContextTests(ServerFixture fixture)
{
    private readonly RestClient _client = fixture.Client;

    private async Task<string> SeedAsync()
    {
        var name = await Api.CreateAsync(_client, "discover", 2, "Euclid");
        Api.Ok(await _client.PutAsync($"/collections/{name}/index?wait=true", """{"field_name":"n","field_schema":"integer"}"""));
        await Api.UpsertAsync(_client, name, """
            [{"id":1,"vector":[0,0],"payload":{"n":5}},{"id":2,"vector":[1,0],"payload":{"n":3}},{"id":3,"vector":[2,0],"payload":{"n":9}},
             {"id":4,"vector":[3,0],"payload":{"n":1}},{"id":5,"vector":[0,1],"payload":{"n":7}},{"id":6,"vector":[0,2],"payload":{"n":2}},
             {"id":7,"vector":[3,3],"payload":{"n":8}}]
            """);
        return name;
    }

    private Task<List<(string Id, double Score)>> QueryAsync(string name, string body) => Api.QueryScoresAsync(_client, name, body);

    [Fact]
    public async Task Context_scores_each_pair_by_a_clipped_squashed_difference_and_points_on_every_positive_side_tie_at_zero()
    {
        var name = await SeedAsync();
        // Pair (3,0) vs (0,0): points with x > 1.5 are on the positive side (loss 0). For the rest the difference of
        // similarities d gives d / (1 + |d|): point 2: -4 - (-1) = -3 -> -0.75; points 1, 5, 6: -9 -> -0.9.
        Api.AssertRanked(
            await QueryAsync(name, """{"query":{"context":{"positive":[3,0],"negative":[0,0]}},"limit":5}"""),
            ("3", 0), ("4", 0), ("7", 0), ("2", -0.75), ("1", -0.9));

        // Pairs of point ids use the points' vectors and leave those points out.
        Api.AssertRanked(
            await QueryAsync(name, """{"query":{"context":[{"positive":4,"negative":1}]},"limit":3}"""),
            ("3", 0), ("7", 0), ("2", -0.75));

        // Over prefetched points: the nearest 3 to (0,0) are 1, 2, 5.
        Api.AssertRanked(
            await QueryAsync(name, """{"prefetch":{"query":[0,0],"limit":3},"query":{"context":{"positive":[3,0],"negative":[0,0]}}}"""),
            ("2", -0.75), ("1", -0.9), ("5", -0.9));
    }

    [Fact]
    public async Task Discover_ranks_by_pairs_won_then_by_squashed_closeness_to_the_target()
    {
        var name = await SeedAsync();
        // Rank +1 for 3, 4, 7 (closer to (3,0) than to (0,0)), -1 for the rest; then 0.5 (s(-d²) + 1) with d the
        // distance to the target (0,3): 7: d² 9 -> 0.05; 3: 13 -> 1/28; 4: 18 -> 1/38; 6: 1 -> 0.25; 5: 4 -> 0.1;
        // 1: 9 -> 0.05; 2: 10 -> 1/22.
        Api.AssertRanked(
            await QueryAsync(name, """{"query":{"discover":{"target":[0,3],"context":{"positive":[3,0],"negative":[0,0]}}},"limit":10}"""),
            ("7", 1.05), ("3", 1 + (1.0 / 28)), ("4", 1 + (1.0 / 38)), ("6", -0.75), ("5", -0.9), ("1", -0.95), ("2", -1 + (1.0 / 22)));

        // The target as a point id (6, at (0,2)) is left out, and the filter leaves out 4 (n = 1). Closeness to (0,2):
        // 3: d² 8 -> 1/18; 7: 10 -> 1/22; 5: 1 -> 0.25; 1: 4 -> 0.1.
        Api.AssertRanked(
            await QueryAsync(name, """{"query":{"discover":{"target":6,"context":[{"positive":[3,0],"negative":[0,0]}]}},"limit":4,"filter":{"must":[{"key":"n","range":{"gte":2}}]}}"""),
            ("3", 1 + (1.0 / 18)), ("7", 1 + (1.0 / 22)), ("5", -0.75), ("1", -0.9));
    }

    [Fact]
    public async Task Order_by_ranks_by_a_payload_key_alone_or_over_prefetched_points()
    {
        var name = await SeedAsync();
        var top = await QueryAsync(name, """{"query":{"order_by":{"key":"n","direction":"desc"}},"limit":3}""");
        Assert.Equal(["3", "7", "5"], top.Select(p => p.Id));
        Assert.All(top, p => Assert.Equal(0, p.Score));
        var ascending = await QueryAsync(name, """{"query":{"order_by":"n"},"limit":2}""");
        Assert.Equal(["4", "6"], ascending.Select(p => p.Id));
        // Of the three nearest to (0,0) (1, 2, 5), ordered by n descending: 5 (7), 1 (5), 2 (3).
        var prefetched = await QueryAsync(name, """{"prefetch":{"query":[0,0],"limit":3},"query":{"order_by":{"key":"n","direction":"desc"}}}""");
        Assert.Equal(["5", "1", "2"], prefetched.Select(p => p.Id));
    }

    [Theory]
    [InlineData("""{"query":{"context":[]}}""", "at least one")]
    [InlineData("""{"query":{"context":{"positive":[1,0]}}}""", "negative")]
    [InlineData("""{"query":{"discover":{"context":[]}}}""", "target")]
    [InlineData("""{"query":{"discover":{"target":[1,0,0],"context":[]}}}""", "dimension")]
    [InlineData("""{"query":{"order_by":{"key":"missing"}}}""", "missing")]
    public async Task Malformed_discover_context_and_order_by_queries_are_400(string body, string fragment)
    {
        var name = await SeedAsync();
        Api.Error(await _client.PostAsync($"/collections/{name}/points/query", body), HttpStatusCode.BadRequest, fragment);
    }
}
