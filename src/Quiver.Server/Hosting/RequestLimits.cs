using System.Threading.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Quiver.Server.Rest;

namespace Quiver.Server.Hosting;

/// <summary>
/// <c>service.enable_cors</c> (browsers from any origin, preflights answered before any key check) and
/// <c>service.rate_limit_rps</c> (a token bucket per client address: a burst of one second's worth, then that many
/// per second; excess requests get 429 with Retry-After, health probes are never limited).
/// </summary>
internal static class RequestLimits
{
    public static void AddRequestLimits(this IServiceCollection services, ServiceOptions options)
    {
        if (options.EnableCors)
            services.AddCors(cors => cors.AddDefaultPolicy(policy => policy.AllowAnyOrigin().AllowAnyHeader().AllowAnyMethod().WithExposedHeaders("traceresponse")));
        if (options.RateLimitRps > 0)
        {
            services.AddRateLimiter(limiter =>
            {
                // One bucket per client address: a client without a valid key cannot use up everyone's budget.
                limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(http =>
                    IsProbe(http)
                        ? RateLimitPartition.GetNoLimiter("probes")
                        : RateLimitPartition.GetTokenBucketLimiter(http.Connection.RemoteIpAddress?.ToString() ?? "unknown", _ => new TokenBucketRateLimiterOptions
                        {
                            TokenLimit = options.RateLimitRps,
                            TokensPerPeriod = options.RateLimitRps,
                            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                            QueueLimit = 0,
                            AutoReplenishment = true,
                        }));
                limiter.OnRejected = async (context, _) =>
                {
                    context.HttpContext.Response.Headers.RetryAfter = "1";
                    await RestHandler.WriteErrorAsync(context.HttpContext, StatusCodes.Status429TooManyRequests,
                        $"Too many requests: the server accepts {options.RateLimitRps} per second (service.rate_limit_rps)", System.Diagnostics.Stopwatch.GetTimestamp()).ConfigureAwait(false);
                };
            });
        }
    }

    public static void UseRequestLimits(this WebApplication app, ServiceOptions options)
    {
        if (options.EnableCors)
            app.UseCors();
        if (options.RateLimitRps > 0)
            app.UseRateLimiter();
    }

    private static bool IsProbe(HttpContext http) => http.Request.Path.Value is "/healthz" or "/livez" or "/readyz";
}
