using System.Net;
using Quiver.Server.Tests.Infrastructure;

namespace Quiver.Server.Tests.Security;

/// <summary>A server with a rate limit, an API key and CORS (on by default).</summary>
public sealed class RequestLimitFixture() : ConfiguredServerFixture("service:\n  rate_limit_rps: 5\n  api_key: \"limit-key\"\n")
{
    public const string Key = "limit-key";
}

public sealed class RequestLimitTests(RequestLimitFixture fixture) : IClassFixture<RequestLimitFixture>
{
    [Fact]
    public async Task Cors_preflights_need_no_key_and_a_flood_gets_429_but_probes_never_do()
    {
        using var http = new HttpClient { BaseAddress = fixture.Server.BaseAddress };

        // A browser's preflight carries no key: it is answered before the key check.
        using (var preflight = new HttpRequestMessage(HttpMethod.Options, new Uri("/collections/x/points", UriKind.Relative)))
        {
            preflight.Headers.Add("Origin", "https://app.example");
            preflight.Headers.Add("Access-Control-Request-Method", "PUT");
            preflight.Headers.Add("Access-Control-Request-Headers", "api-key, content-type");
            using var response = await http.SendAsync(preflight);
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
            Assert.Equal("*", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
            Assert.Contains("PUT", string.Join(",", response.Headers.GetValues("Access-Control-Allow-Methods")), StringComparison.Ordinal);
        }

        await Task.Delay(1100); // a full bucket
        // Sent at once, so the bucket cannot refill in between however slow the machine is.
        var responses = await Task.WhenAll(Enumerable.Range(0, 25).Select(async _ =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/collections", UriKind.Relative));
            request.Headers.Add("api-key", RequestLimitFixture.Key);
            request.Headers.Add("Origin", "https://app.example");
            using var response = await http.SendAsync(request);
            return (response.StatusCode, Origin: response.Headers.TryGetValues("Access-Control-Allow-Origin", out var o) ? o.Single() : null,
                RetryAfter: response.Headers.RetryAfter?.ToString(), Body: await response.Content.ReadAsStringAsync());
        }));
        var statuses = responses.Select(r => r.StatusCode).ToList();
        Assert.All(responses.Where(r => r.StatusCode == HttpStatusCode.OK), r => Assert.Equal("*", r.Origin));
        Assert.All(responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests), r =>
        {
            Assert.Equal("1", r.RetryAfter);
            Assert.Contains("rate_limit_rps", r.Body, StringComparison.Ordinal);
        });

        // Five tokens, refilled at five a second: of 25 requests sent back to back, at least 5 pass and most are refused.
        Assert.True(statuses.Count(s => s == HttpStatusCode.OK) >= 5, string.Join(",", statuses));
        Assert.True(statuses.Count(s => s == HttpStatusCode.TooManyRequests) >= 5, string.Join(",", statuses));
        Assert.All(statuses, s => Assert.True(s is HttpStatusCode.OK or HttpStatusCode.TooManyRequests));

        for (var i = 0; i < 25; i++)
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode);
    }
}
