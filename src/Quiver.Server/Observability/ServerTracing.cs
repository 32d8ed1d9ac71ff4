using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;
using Quiver.Server.Hosting;

namespace Quiver.Server.Observability;

/// <summary>
/// <c>tracing.enabled</c>: a span per request (ASP.NET Core's, continuing a W3C <c>traceparent</c> from the caller),
/// per search and per optimizer run (the engine's <c>Quiver.Engine</c> source), exported with OTLP when
/// <c>tracing.otlp_endpoint</c> is set. Each response names its span in a <c>traceresponse</c> header
/// (<c>00-{trace id}-{span id}-{flags}</c>, W3C Trace Context level 2), so a caller can find it.
/// </summary>
internal static class ServerTracing
{
    public static IServiceCollection AddQuiverTracing(this IServiceCollection services, TracingOptions options)
    {
        if (!options.Enabled)
            return services;
        services.AddOpenTelemetry().WithTracing(tracing =>
        {
            // A caller's sampling decision is followed; new traces are sampled at the configured ratio.
            tracing.AddSource("Microsoft.AspNetCore", "Quiver.Engine", "Quiver.Ingest")
                .SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(options.SampleRatio)));
            if (options.OtlpEndpoint is { } endpoint)
                tracing.AddOtlpExporter(otlp => otlp.Endpoint = new Uri(endpoint));
        });
        return services;
    }

    /// <summary>Adds the <c>traceresponse</c> header naming the request's span, when there is one.</summary>
    public static Task AddTraceResponseAsync(HttpContext http, RequestDelegate next)
    {
        if (Activity.Current is { } activity && activity.IdFormat == ActivityIdFormat.W3C)
        {
            var flags = activity.Recorded ? "01" : "00";
            http.Response.Headers["traceresponse"] = $"00-{activity.TraceId.ToHexString()}-{activity.SpanId.ToHexString()}-{flags}";
        }

        return next(http);
    }
}
