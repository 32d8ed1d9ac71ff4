using System.Diagnostics;
using System.Net;
using System.Text;
using Quiver.Server.Tests.Infrastructure;

namespace Quiver.Server.Tests.Rest;

/// <summary>The <c>timeout</c> query parameter stops a request that runs longer and answers 408.</summary>
[Collection(ServerCollection.Name)]
public sealed class TimeoutTests(ServerFixture fixture)
{
    private const int Dim = 128;
    private const int Points = 20_000;

    [Fact]
    public async Task A_query_batch_running_past_its_timeout_is_stopped_with_408()
    {
        var client = fixture.Client;
        var name = await Api.CreateRawAsync(client, "timeout", $$$"""{"vectors":{"size":{{{Dim}}},"distance":"Dot"},"optimizers_config":{"indexing_threshold":0}}""");
        var random = new Random(3);
        for (var start = 0; start < Points; start += 2000)
        {
            var points = string.Join(',', Enumerable.Range(start, 2000).Select(id =>
                $$"""{"id":{{id}},"vector":[{{string.Join(',', Enumerable.Range(0, Dim).Select(_ => random.Next(10)))}}]}"""));
            await Api.UpsertAsync(client, name, $"[{points}]");
        }

        // 6,000 exact searches over 20,000 points: several seconds of work, far past a 1 s timeout.
        var query = string.Join(',', Enumerable.Range(0, Dim).Select(i => i % 7));
        var searches = string.Join(',', Enumerable.Repeat($$$"""{"query":[{{{query}}}],"limit":3,"params":{"exact":true}}""", 6000));
        var body = $$"""{"searches":[{{searches}}]}""";
        var clock = Stopwatch.StartNew();
        var timedOut = await client.SendAsync(HttpMethod.Post, $"/collections/{name}/points/query/batch?timeout=1", body);
        clock.Stop();
        Assert.True(timedOut.Status == HttpStatusCode.RequestTimeout, $"{(int)timedOut.Status} after {clock.Elapsed.TotalSeconds:F1} s: {timedOut.Text[..Math.Min(200, timedOut.Text.Length)]}");
        Assert.StartsWith("Timeout error", timedOut.Error, StringComparison.Ordinal);

        // The same work in a smaller batch finishes within a generous timeout, with the exact answer.
        var small = $$"""{"searches":[{{string.Join(',', Enumerable.Repeat($$$"""{"query":[{{{query}}}],"limit":3,"params":{"exact":true}}""", 5))}}]}""";
        var done = Api.Ok(await client.SendAsync(HttpMethod.Post, $"/collections/{name}/points/query/batch?timeout=60", small));
        Assert.Equal(5, done.Result.AsArray().Count);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.SendAsync(HttpMethod.Post, $"/collections/{name}/points/query?timeout=0", $$"""{"query":[{{query}}]}""")).Status);
        Assert.True(Encoding.UTF8.GetByteCount(body) < 4 * 1024 * 1024);
    }
}
