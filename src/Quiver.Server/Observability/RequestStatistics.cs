using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;

namespace Quiver.Server.Observability;

/// <summary>
/// Per endpoint (<c>METHOD /route/template</c>) and status code: how many responses, their shortest, longest and
/// total duration, the mean of the latest 128, and when the last one was sent. Served as <c>requests.rest</c> of
/// <c>GET /telemetry</c> (the spec's <c>OperationDurationStatistics</c>).
/// </summary>
internal sealed class RequestStatistics
{
    private const int Window = 128;
    private readonly ConcurrentDictionary<(string Endpoint, int Status), Entry> _entries = new();
    private readonly ConcurrentDictionary<(string Endpoint, int Status), Entry> _grpc = new();

    /// <summary>Middleware: times every request that matched an endpoint (after routing, before the key check).</summary>
    public async Task InvokeAsync(HttpContext http, RequestDelegate next)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await next(http).ConfigureAwait(false);
        }
        finally
        {
            if (http.Request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) == true)
            {
                // gRPC: by method and gRPC status (a trailer, or a header in a trailers-only answer).
                var trailers = http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseTrailersFeature>()?.Trailers;
                var status = trailers?["grpc-status"].ToString() is { Length: > 0 } t ? t : http.Response.Headers["grpc-status"].ToString();
                _grpc.GetOrAdd((http.Request.Path.Value ?? string.Empty, int.TryParse(status, out var code) ? code : 0), _ => new Entry())
                    .Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
            }
            else if ((http.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText is { } raw && !raw.Contains('*', StringComparison.Ordinal))
            {
                var endpoint = $"{HttpMethods.GetCanonicalizedValue(http.Request.Method).ToUpperInvariant()} {(raw.StartsWith('/') ? raw : "/" + raw)}";
                _entries.GetOrAdd((endpoint, http.Response.StatusCode), _ => new Entry()).Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
            }
        }
    }

    /// <summary>Writes the spec's <c>RequestsTelemetry</c> object: REST by endpoint and HTTP status, gRPC by method and gRPC status.</summary>
    public void WriteTo(Utf8JsonWriter w)
    {
        w.WriteStartObject("requests");
        WriteResponses(w, "rest", _entries);
        WriteResponses(w, "grpc", _grpc);
        w.WriteEndObject();
    }

    private static void WriteResponses(Utf8JsonWriter w, string name, ConcurrentDictionary<(string Endpoint, int Status), Entry> entries)
    {
        w.WriteStartObject(name);
        w.WriteStartObject("responses");
        foreach (var endpoint in entries.GroupBy(e => e.Key.Endpoint).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            w.WriteStartObject(endpoint.Key);
            foreach (var (key, entry) in endpoint.OrderBy(e => e.Key.Status))
            {
                w.WritePropertyName(key.Status.ToString(System.Globalization.CultureInfo.InvariantCulture));
                entry.WriteTo(w);
            }

            w.WriteEndObject();
        }

        w.WriteEndObject();
        w.WriteEndObject();
    }

    private sealed class Entry
    {
        private readonly Lock _lock = new();
        private readonly double[] _latest = new double[Window];
        private long _count;
        private double _min = double.MaxValue;
        private double _max;
        private double _total;
        private DateTimeOffset _last;

        public void Add(double micros)
        {
            lock (_lock)
            {
                _latest[_count % Window] = micros;
                _count++;
                _min = Math.Min(_min, micros);
                _max = Math.Max(_max, micros);
                _total += micros;
                _last = DateTimeOffset.UtcNow;
            }
        }

        public void WriteTo(Utf8JsonWriter w)
        {
            lock (_lock)
            {
                var recent = (int)Math.Min(_count, Window);
                w.WriteStartObject();
                w.WriteNumber("count", _count);
                w.WriteNumber("avg_duration_micros", _latest.AsSpan(0, recent).ToArray().Average());
                w.WriteNumber("min_duration_micros", _min);
                w.WriteNumber("max_duration_micros", _max);
                w.WriteNumber("total_duration_micros", (long)_total);
                w.WriteString("last_responded", _last);
                w.WriteEndObject();
            }
        }
    }
}
