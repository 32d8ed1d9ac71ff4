using System.Net;
using Quiver.Server.Tests.Infrastructure;

namespace Quiver.Server.Tests.Rest;

/// <summary>A server with <c>service.max_batch_points: 10</c>.</summary>
public sealed class BatchLimitFixture() : ConfiguredServerFixture("service:\n  max_batch_points: 10\n");

public sealed class BatchLimitTests(BatchLimitFixture fixture) : IClassFixture<BatchLimitFixture>
{
    private static string Points(int first, int count) =>
        string.Join(",", Enumerable.Range(first, count).Select(i => $$"""{"id":{{i}},"vector":[{{i}},1]}"""));

    [Fact]
    public async Task A_write_over_the_batch_limit_is_refused_whole()
    {
        using var client = new RestClient(fixture.Server.BaseAddress);
        (await client.PutAsync("/collections/batched", """{"vectors":{"size":2,"distance":"Dot"}}""")).EnsureOk();
        (await client.PutAsync("/collections/batched/points?wait=true", $$"""{"points":[{{Points(1, 10)}}]}""")).EnsureOk();

        var over = await client.PutAsync("/collections/batched/points?wait=true", $$"""{"points":[{{Points(11, 11)}}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, over.Status);
        Assert.Contains("max_batch_points", over.Error, StringComparison.Ordinal);
        // A batch counts all its operations: 6 + 5 points.
        var batch = await client.PostAsync("/collections/batched/points/batch?wait=true",
            $$$"""{"operations":[{"upsert":{"points":[{{{Points(30, 6)}}}]}},{"upsert":{"points":[{{{Points(40, 5)}}}]}}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, batch.Status);
        var vectors = await client.PutAsync("/collections/batched/points/vectors?wait=true",
            $$"""{"points":[{{string.Join(",", Enumerable.Range(1, 11).Select(i => $$$"""{"id":{{{i}}},"vector":[0,1]}"""))}}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, vectors.Status);

        var count = (await client.PostAsync("/collections/batched/points/count", """{"exact":true}""")).EnsureOk().Result["count"]!.GetValue<int>();
        Assert.Equal(10, count);
        var first = (await client.GetAsync("/collections/batched/points/1")).EnsureOk().Result["vector"]!.AsArray().Select(v => v!.GetValue<float>());
        Assert.Equal([1f, 1f], first);
    }
}
