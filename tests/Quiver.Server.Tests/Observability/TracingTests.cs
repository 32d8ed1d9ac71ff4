using System.Net;
using System.Text;
using Quiver.Server.Tests.Infrastructure;

namespace Quiver.Server.Tests.Observability;

/// <summary>A server with <c>tracing.enabled</c> (spans kept in-process) and JSON logs.</summary>
public sealed class TracingFixture() : ConfiguredServerFixture("tracing:\n  enabled: true\n  sample_ratio: 1.0\nlogging:\n  format: json\n");

public sealed class TracingTests(TracingFixture fixture) : IClassFixture<TracingFixture>
{
    [Fact]
    public async Task A_request_with_a_traceparent_continues_the_callers_trace()
    {
        using var http = new HttpClient { BaseAddress = fixture.Server.BaseAddress };
        const string TraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        const string ParentSpan = "00f067aa0ba902b7";

        foreach (var (method, path, body) in new[]
        {
            ("PUT", "/collections/traced", """{"vectors":{"size":2,"distance":"Dot"}}"""),
            ("PUT", "/collections/traced/points?wait=true", """{"points":[{"id":1,"vector":[1,0]}]}"""),
            ("POST", "/collections/traced/points/query", """{"query":[1,0]}"""),
            ("GET", "/collections/missing", null),
        })
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(path, UriKind.Relative));
            if (body is not null)
                request.Content = new StringContent(body, Encoding.UTF8, "application/json");
            request.Headers.Add("traceparent", $"00-{TraceId}-{ParentSpan}-01");
            using var response = await http.SendAsync(request);
            Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.NotFound, $"{method} {path}: {response.StatusCode}");
            var parts = TraceResponse(response).Split('-');
            Assert.Equal(["00", TraceId], parts[..2]);
            Assert.Matches("^[0-9a-f]{16}$", parts[2]);
            Assert.NotEqual(ParentSpan, parts[2]);
            Assert.Equal("01", parts[3]);
        }

        // The engine's log entry for the create, written inside the request, carries the caller's trace id.
        var line = await LogLineAsync("Created collection traced");
        using (var entry = System.Text.Json.JsonDocument.Parse(line))
        {
            var scopes = entry.RootElement.GetProperty("Scopes").EnumerateArray();
            Assert.Contains(scopes, scope => scope.TryGetProperty("TraceId", out var id) && id.GetString() == TraceId);
            Assert.Equal("Information", entry.RootElement.GetProperty("LogLevel").GetString());
        }

        // Without a traceparent each request starts a trace of its own; a caller that did not sample is followed.
        using (var response = await http.GetAsync(new Uri("/collections", UriKind.Relative)))
        {
            var parts = TraceResponse(response).Split('-');
            Assert.Matches("^[0-9a-f]{32}$", parts[1]);
            Assert.NotEqual(TraceId, parts[1]);
        }

        using (var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/collections", UriKind.Relative)))
        {
            request.Headers.Add("traceparent", $"00-{TraceId}-{ParentSpan}-00");
            using var response = await http.SendAsync(request);
            Assert.Equal($"00-{TraceId}", TraceResponse(response)[..35]);
            Assert.EndsWith("-00", TraceResponse(response), StringComparison.Ordinal);
        }
    }

    private async Task<string> LogLineAsync(string text)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var line = fixture.Server.Output.Split('\n').FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal));
            if (line is not null)
                return line;
            Assert.True(DateTime.UtcNow < deadline, $"no log line with '{text}' in:\n{fixture.Server.Output}");
            await Task.Delay(20);
        }
    }

    private static string TraceResponse(HttpResponseMessage response) =>
        response.Headers.TryGetValues("traceresponse", out var values) ? values.Single() : throw new InvalidOperationException($"no traceresponse header ({response.StatusCode})");
}
