using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Quiver.Server.Tests.Infrastructure;

namespace Quiver.Server.Tests.Rest;

/// <summary>
/// <c>points/query</c> with prefetches: fusion (rrf with k and weights, dbsf), rescoring over prefetched points with
/// another vector, nesting, filters that reach every stage, thresholds, paging, and the errors. Six hand-made points,
/// so every expected list and score below is worked out by hand.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class PrefetchQueryTests(ServerFixture fixture)
{
    private readonly RestClient _client = fixture.Client;

    /// <summary>
    /// "a" (Dot) with [1,0] ranks 1 (1.0), 2 (0.9), 3 (0.8), 6 (0.1), 4 and 5 (0); with [0,1] ranks 4 (1.0), 5 (0.9).
    /// "b" (Euclid) from [0,0] ranks 6 (0.2), 4 (0.5), 2 and 3 (1.0, ties by id), 5 (4.24), 1 (7.07).
    /// Point 1 is tagged x, the others y.
    /// </summary>
    private async Task<string> SeedAsync()
    {
        var name = await Api.CreateRawAsync(_client, "prefetch", """{"vectors":{"a":{"size":2,"distance":"Dot"},"b":{"size":2,"distance":"Euclid"}}}""");
        await Api.UpsertAsync(_client, name, """
            [{"id":1,"vector":{"a":[1,0],"b":[5,5]},"payload":{"tag":"x"}},
             {"id":2,"vector":{"a":[0.9,0],"b":[1,0]},"payload":{"tag":"y"}},
             {"id":3,"vector":{"a":[0.8,0],"b":[0,1]},"payload":{"tag":"y"}},
             {"id":4,"vector":{"a":[0,1],"b":[0,0.5]},"payload":{"tag":"y"}},
             {"id":5,"vector":{"a":[0,0.9],"b":[3,3]},"payload":{"tag":"y"}},
             {"id":6,"vector":{"a":[0.1,0.1],"b":[0.2,0]},"payload":{"tag":"y"}}]
            """);
        return name;
    }

    private const string TwoPrefetches = """
        "prefetch":[{"query":[1,0],"using":"a","limit":3},{"query":[0,0],"using":"b","limit":3}]
        """;

    private async Task<JsonArray> QueryAsync(string name, string body) =>
        Api.Ok(await _client.PostAsync($"/collections/{name}/points/query", body)).Result["points"]!.AsArray();

    private static int[] Ids(JsonArray points) => [.. points.Select(p => int.Parse(Api.IdText(p!["id"]), CultureInfo.InvariantCulture))];

    private static double[] Scores(JsonArray points) => [.. points.Select(p => p!["score"]!.GetValue<double>())];

    [Fact]
    public async Task Rrf_fuses_by_rank_with_qdrants_default_k_and_with_k_and_weights()
    {
        var name = await SeedAsync();
        // Lists [1,2,3] and [6,4,2]; a point at position p scores 1/(p+2): 2 = 1/3 + 1/4, 1 and 6 = 1/2, 4 = 1/3, 3 = 1/4.
        var fused = await QueryAsync(name, "{" + TwoPrefetches + ""","query":{"fusion":"rrf"}}""");
        Assert.Equal([2, 1, 6, 4, 3], Ids(fused));
        AssertScores([(1.0 / 3) + 0.25, 0.5, 0.5, 1.0 / 3, 0.25], Scores(fused));

        // k 60: 2 = 1/61 + 1/62, 1 and 6 = 1/60, 4 = 1/61, 3 = 1/62.
        var k60 = await QueryAsync(name, "{" + TwoPrefetches + ""","query":{"rrf":{"k":60}}}""");
        Assert.Equal([2, 1, 6, 4, 3], Ids(k60));
        AssertScores([(1.0 / 61) + (1.0 / 62), 1.0 / 60, 1.0 / 60, 1.0 / 61, 1.0 / 62], Scores(k60));

        // Weight 3 on the first list divides its positions by 3: 1 = 1/(1/3 + 59), 3 = 1/60 ties 6 = 1/60, 4 = 1/61.
        var weighted = await QueryAsync(name, "{" + TwoPrefetches + ""","query":{"rrf":{"k":60,"weights":[3,1]}}}""");
        Assert.Equal([2, 1, 3, 6, 4], Ids(weighted));
        AssertScores([(1.0 / ((2.0 / 3) + 59)) + (1.0 / 62), 1.0 / ((1.0 / 3) + 59), 1.0 / 60, 1.0 / 60, 1.0 / 61], Scores(weighted));
    }

    [Fact]
    public async Task Dbsf_fuses_scores_normalised_over_three_deviations_of_each_list()
    {
        var name = await SeedAsync();
        // "a": 1.0, 0.9, 0.8 (mean 0.9, sample deviation 0.1) map onto [0.6, 1.2]: 2/3, 1/2, 1/3. "b" is a distance,
        // fused negated: -0.2, -0.5, -1 (mean -17/30, sample deviation 0.40415) map to 0.6512, 0.5275, 0.3213.
        var fused = await QueryAsync(name, "{" + TwoPrefetches + ""","query":{"fusion":"dbsf"}}""");
        Assert.Equal([2, 1, 6, 4, 3], Ids(fused));
        const double mean = -17.0 / 30;
        var deviation = Math.Sqrt((Math.Pow(-0.2 - mean, 2) + Math.Pow(-0.5 - mean, 2) + Math.Pow(-1 - mean, 2)) / 2);
        double B(double d) => (-d - (mean - (3 * deviation))) / (6 * deviation);
        AssertScores([0.5 + B(1), 2.0 / 3, B(0.2), B(0.5), 1.0 / 3], Scores(fused), 1e-5);
        AssertScores([0.8213, 0.6667, 0.6512, 0.5275, 0.3333], Scores(fused), 1e-4);
    }

    [Fact]
    public async Task A_nearest_query_rescores_prefetched_points_with_another_vector_at_any_depth()
    {
        var name = await SeedAsync();
        // The top 4 by "a" [1,0] are 1, 2, 3, 6; by "b" from [0,0] the closest two of them are 6 (0.2) and 2 (1.0).
        var rescored = await QueryAsync(name, """{"prefetch":{"query":[1,0],"using":"a","limit":4},"query":[0,0],"using":"b","limit":2,"with_payload":true}""");
        Assert.Equal([6, 2], Ids(rescored));
        AssertScores([0.2, 1.0], Scores(rescored));
        Assert.Equal("y", rescored[0]!["payload"]!["tag"]!.GetValue<string>());

        // Three levels: that rescoring and "a" [0,1] (4, 5), fused: 6 and 4 score 1/2, 2 and 5 score 1/3.
        var nested = await QueryAsync(name, """
            {"prefetch":[{"prefetch":{"query":[1,0],"using":"a","limit":4},"query":[0,0],"using":"b","limit":2},
                         {"query":[0,1],"using":"a","limit":2}],
             "query":{"fusion":"rrf"}}
            """);
        Assert.Equal([4, 6, 2, 5], Ids(nested));

        // A query by point id rescores with that point's vector, and the point is left out of every stage: the
        // prefetch finds 1, 2, 3 and 4 (4 and 5 tie at 0), and from 6's [0.2,0] 4 (0.539) and 2 (0.8) are closest.
        var byId = await QueryAsync(name, """{"prefetch":{"query":[1,0],"using":"a","limit":4},"query":{"nearest":6},"using":"b","limit":2}""");
        Assert.Equal([4, 2], Ids(byId));
        AssertScores([Math.Sqrt(0.29), 0.8], Scores(byId), 1e-5);
    }

    [Fact]
    public async Task The_outer_filter_reaches_every_prefetch_and_thresholds_and_paging_apply_to_the_fused_list()
    {
        var name = await SeedAsync();
        // Without point 1 (tag x): [2,3,6] and [6,4,2]: 2 and 6 score 1/2 + 1/4, 3 and 4 score 1/3.
        var filtered = await QueryAsync(name, "{" + TwoPrefetches + ""","query":{"fusion":"rrf"},"filter":{"must_not":[{"key":"tag","match":{"value":"x"}}]}}""");
        Assert.Equal([2, 6, 3, 4], Ids(filtered));

        var passing = await QueryAsync(name, "{" + TwoPrefetches + ""","query":{"fusion":"rrf"},"score_threshold":0.5}""");
        Assert.Equal([2, 1, 6], Ids(passing));

        var page = await QueryAsync(name, "{" + TwoPrefetches + ""","query":{"fusion":"rrf"},"limit":2,"offset":1}""");
        Assert.Equal([1, 6], Ids(page));

        var batch = Api.Ok(await _client.PostAsync($"/collections/{name}/points/query/batch", "{\"searches\":[{" + TwoPrefetches + ""","query":{"fusion":"rrf"},"limit":1},{"query":[0,1],"using":"a","limit":1}]}""")).Result.AsArray();
        Assert.Equal([2], Ids(batch[0]!["points"]!.AsArray()));
        Assert.Equal([4], Ids(batch[1]!["points"]!.AsArray()));
    }

    [Fact]
    public async Task Recommend_by_average_vector_searches_with_twice_the_positives_less_the_negatives()
    {
        var name = await SeedAsync();
        // Positive point 1 ([1,0]) and negative point 4 ([0,1]): [2,-1]. Dot: 2 = 1.8, 3 = 1.6, 6 = 0.1, 5 = -0.9; the
        // example points are left out.
        var byIds = await QueryAsync(name, """{"query":{"recommend":{"positive":[1],"negative":[4]}},"using":"a","limit":3}""");
        Assert.Equal([2, 3, 6], Ids(byIds));
        AssertScores([1.8, 1.6, 0.1], Scores(byIds), 1e-5);

        // A vector example alone is the query itself; 1, 2 and 3 tie at 0 and come by id.
        var byVector = await QueryAsync(name, """{"query":{"recommend":{"positive":[[0,1]],"strategy":"average_vector"}},"using":"a","limit":4}""");
        Assert.Equal([4, 5, 6, 1], Ids(byVector));

        // Over prefetched points (1, 2, 3 by "a"), ranked by "b" from [0,0]: 2 and 3 (1.0), then 1.
        var over = await QueryAsync(name, """{"prefetch":{"query":[1,0],"using":"a","limit":3},"query":{"recommend":{"positive":[[0,0]]}},"using":"b"}""");
        Assert.Equal([2, 3, 1], Ids(over));
        AssertScores([1, 1, Math.Sqrt(50)], Scores(over), 1e-5);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Recommend_by_best_score_and_sum_scores_scores_every_candidate_against_every_example(bool exact)
    {
        var name = await SeedAsync();
        // Examples on "b" (similarity -distance²): positive 6 at [0.2,0], negative 1 at [5,5].
        // best_score, Qdrant's sigmoid s(x) = (x / (1 + |x|) + 1) / 2 of the best positive similarity: 4 = s(-0.29),
        // 2 = s(-0.64), 3 = s(-1.04); for 5 the negative (-8) beats the positive (-16.84): -s(-8).
        var parameters = exact ? ""","params":{"exact":true}""" : string.Empty;
        var best = await QueryAsync(name, "{\"query\":{\"recommend\":{\"positive\":[6],\"negative\":[1],\"strategy\":\"best_score\"}},\"using\":\"b\"" + parameters + "}");
        Assert.Equal([4, 2, 3, 5], Ids(best));
        static double S(double x) => ((x / (1 + Math.Abs(x))) + 1) / 2;
        AssertScores([S(-0.29), S(-0.64), S(-1.04), -S(-8)], Scores(best), 1e-5);

        // best_score from a negative alone: -s(best negative similarity), so the points least like it come first:
        // 6 (-48.04) then 4 (-45.25).
        var unlike = await QueryAsync(name, "{\"query\":{\"recommend\":{\"negative\":[1],\"strategy\":\"best_score\"}},\"using\":\"b\",\"limit\":2" + parameters + "}");
        Assert.Equal([6, 4], Ids(unlike));
        AssertScores([-S(-48.04), -S(-45.25)], Scores(unlike), 1e-5);

        // sum_scores: positive similarity less negative: 4 = -0.29 + 45.25, 2 = -0.64 + 41, 3 = -1.04 + 41, 5 = -16.84 + 8.
        var sum = await QueryAsync(name, "{\"query\":{\"recommend\":{\"positive\":[6],\"negative\":[1],\"strategy\":\"sum_scores\"}},\"using\":\"b\"" + parameters + "}");
        Assert.Equal([4, 2, 3, 5], Ids(sum));
        AssertScores([44.96, 40.36, 39.96, -8.84], Scores(sum), 1e-4);

        // A negative example alone: the points least like it first.
        var away = await QueryAsync(name, "{\"query\":{\"recommend\":{\"negative\":[1],\"strategy\":\"sum_scores\"}},\"using\":\"b\",\"limit\":2" + parameters + "}");
        Assert.Equal([6, 4], Ids(away));
    }

    [Fact]
    public async Task Prefetched_points_without_the_rescoring_vector_drop_out()
    {
        var name = await Api.CreateRawAsync(_client, "prefetch", """{"vectors":{"a":{"size":2,"distance":"Dot"},"b":{"size":2,"distance":"Euclid"}}}""");
        await Api.UpsertAsync(_client, name, """[{"id":1,"vector":{"a":[1,0],"b":[0,0]}},{"id":2,"vector":{"a":[1,0]}},{"id":3,"vector":{"a":[0.5,0],"b":[3,4]}}]""");
        var rescored = await QueryAsync(name, """{"prefetch":{"query":[1,0],"using":"a","limit":3},"query":[0,0],"using":"b"}""");
        Assert.Equal([1, 3], Ids(rescored));
        AssertScores([0, 5], Scores(rescored));
        var diverse = await QueryAsync(name, """{"prefetch":{"query":[1,0],"using":"a","limit":3},"query":{"nearest":[0,0],"mmr":{"candidates_limit":3}},"using":"b"}""");
        Assert.Equal([1, 3], Ids(diverse));
    }

    [Fact]
    public async Task Mmr_picks_relevant_points_unlike_the_ones_already_picked()
    {
        var name = await SeedAsync();
        // "a" with [1,1]: 1 and 4 score 1.0, 2 and 5 0.9, 3 0.8, 6 0.2. Plain search: 1, 4, 2.
        Assert.Equal(new[] { 1, 4, 2 }, Ids(await QueryAsync(name, """{"query":[1,1],"using":"a","limit":3}""")));

        // λ = 0.5: after 1, 4 scores 0.5 - 0 (unlike 1), 2 scores 0.45 - 0.45; after 4, 6 scores 0.1 - 0.05 and
        // 2, 3, 5 score 0. Points keep their relevance as score.
        var diverse = await QueryAsync(name, """{"query":{"nearest":[1,1],"mmr":{"diversity":0.5,"candidates_limit":6}},"using":"a","limit":3}""");
        Assert.Equal([1, 4, 6], Ids(diverse));
        AssertScores([1, 1, 0.2], Scores(diverse), 1e-6);

        // Diversity 0 is relevance alone; diversity 1 dissimilarity alone.
        Assert.Equal(new[] { 1, 4, 2 }, Ids(await QueryAsync(name, """{"query":{"nearest":[1,1],"mmr":{"diversity":0,"candidates_limit":6}},"using":"a","limit":3}""")));
        Assert.Equal(new[] { 1, 4, 6 }, Ids(await QueryAsync(name, """{"query":{"nearest":[1,1],"mmr":{"diversity":1,"candidates_limit":6}},"using":"a","limit":3}""")));

        // Candidates default to the limit: from 1, 4, 2 only.
        Assert.Equal(new[] { 1, 4, 2 }, Ids(await QueryAsync(name, """{"query":{"nearest":[1,1],"mmr":{}},"using":"a","limit":3}""")));

        // Over prefetched points (1, 2, 3, 6 by [1,0]), all four candidates: 1, then 6 (0.1 - 0.05) over 2 and 3 (0).
        var over = await QueryAsync(name, """{"prefetch":{"query":[1,0],"using":"a","limit":4},"query":{"nearest":[1,1],"mmr":{"diversity":0.5,"candidates_limit":4}},"using":"a","limit":2}""");
        Assert.Equal([1, 6], Ids(over));

        // Without candidates_limit the candidates are the limit's worth of the rescored points (1, 2), as in Qdrant.
        var few = await QueryAsync(name, """{"prefetch":{"query":[1,0],"using":"a","limit":4},"query":{"nearest":[1,1],"mmr":{"diversity":0.5}},"using":"a","limit":2}""");
        Assert.Equal([1, 2], Ids(few));
        Assert.Empty(await QueryAsync(name, """{"query":{"nearest":[1,1],"mmr":{"candidates_limit":6}},"using":"a","limit":0}"""));
    }

    [Fact]
    public async Task Random_samples_are_distinct_matching_points_that_vary_between_calls()
    {
        var name = await SeedAsync();
        var seen = new HashSet<int>();
        for (var call = 0; call < 60; call++)
        {
            var sample = Ids(await QueryAsync(name, """{"query":{"sample":"random"},"filter":{"must_not":[{"key":"tag","match":{"value":"x"}}]},"limit":2}"""));
            Assert.Equal(2, sample.Distinct().Count());
            Assert.DoesNotContain(1, sample);
            seen.UnionWith(sample);
        }

        // Every matching point turns up (each call misses a given one with probability 3/5; 60 calls, about 1e-13).
        Assert.Equal([2, 3, 4, 5, 6], seen.Order());

        // Over prefetched points: only those, all of them when the limit allows.
        var over = Ids(await QueryAsync(name, """{"prefetch":{"query":[1,0],"using":"a","limit":3},"query":{"sample":"random"},"limit":5}"""));
        Assert.Equal([1, 2, 3], over.Order());
    }

    [Theory]
    [InlineData("""{"query":{"fusion":"rrf"}}""", "fusion combines prefetches")]
    [InlineData("""{"prefetch":[{"query":[1,0],"using":"a"}],"query":{"rrf":{"weights":[1,2]}}}""", "weights")]
    [InlineData("""{"prefetch":[{"query":[1,0],"using":"a"},{"query":[1,0],"using":"a"}]}""", "prefetches need a query")]
    [InlineData("""{"prefetch":{"query":[1,0],"using":"a"}}""", "prefetches need a query")]
    [InlineData("""{"prefetch":[{"query":[1,0],"using":"a"}],"query":{"fusion":"rrf"},"using":"a"}""", "using")]
    [InlineData("""{"prefetch":[{"query":[1,0],"using":"a","limit":0}],"query":{"fusion":"rrf"}}""", "prefetch[0].limit")]
    [InlineData("""{"prefetch":[{"query":[1,0],"using":"a"}],"query":{"fusion":"max"}}""", "query.fusion")]
    [InlineData("""{"prefetch":[{"query":[1,0],"using":"a","limit":-1}],"query":{"fusion":"rrf"}}""", "prefetch[0].limit")]
    [InlineData("""{"prefetch":[{"query":[1,0],"using":"nope"}],"query":{"fusion":"rrf"}}""", "nope")]
    [InlineData("""{"query":{"recommend":{"negative":[1]}},"using":"a"}""", "positive example")]
    [InlineData("""{"query":{"nearest":[1,1],"mmr":{"diversity":2}},"using":"a"}""", "mmr.diversity")]
    [InlineData("""{"query":{"nearest":[1,1],"mmr":{"candidates_limit":20000}},"using":"a"}""", "mmr.candidates_limit")]
    [InlineData("""{"query":{"recommend":{"positive":[1],"strategy":"most"}},"using":"a"}""", "recommend.strategy")]
    [InlineData("""{"query":{"recommend":{"positive":[{"x":1}]}},"using":"a"}""", "recommend.positive[0]")]
    public async Task Malformed_pipelines_are_400_naming_the_problem(string body, string fragment)
    {
        var name = await SeedAsync();
        Api.Error(await _client.PostAsync($"/collections/{name}/points/query", body), HttpStatusCode.BadRequest, fragment);
    }

    [Fact]
    public async Task Prefetches_nested_too_deep_are_refused()
    {
        var name = await SeedAsync();
        var body = """{"query":[1,0],"using":"a"}""";
        for (var i = 0; i < 70; i++)
            body = "{\"prefetch\":" + body + ",\"query\":[1,0],\"using\":\"a\"}";
        // The body's JSON depth (64, as Qdrant's prefetch depth) stops it before any stage runs.
        Api.Error(await _client.PostAsync($"/collections/{name}/points/query", body), HttpStatusCode.BadRequest, "deeper than the maximum of 64");
    }

    private static void AssertScores(double[] expected, double[] actual, double tolerance = 1e-6)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"score {i}: expected {expected[i]}, got {actual[i]}");
    }
}
