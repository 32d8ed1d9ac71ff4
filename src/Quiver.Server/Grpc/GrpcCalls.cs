using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Grpc.Core;

namespace Quiver.Server.Grpc;

/// <summary>Per-call plumbing shared by the handlers: the <c>timeout</c> field, elapsed time, REST bodies.</summary>
internal static class GrpcCalls
{
    private const string DeadlineKey = "quiver.timeout";

    /// <summary>
    /// Cancelled when the call is (client gone, gRPC deadline) or after the request's own <c>timeout</c> seconds, as
    /// the REST <c>timeout</c> parameter works.
    /// </summary>
    public static Deadline Cancellation(ServerCallContext call, ulong? timeoutSeconds)
    {
        if (timeoutSeconds is not ({ } seconds and > 0))
            return new Deadline(null, call.CancellationToken);
        var source = CancellationTokenSource.CreateLinkedTokenSource(call.CancellationToken);
        {
            var limit = TimeSpan.FromSeconds(Math.Min(seconds, 86_400UL));
            call.UserState[DeadlineKey] = DateTime.UtcNow + limit;
            source.CancelAfter(limit);
        }

        return new Deadline(source, source.Token);
    }

    /// <summary>The token a handler passes on; owns a timer only when the request set a timeout.</summary>
    public readonly struct Deadline(CancellationTokenSource? source, CancellationToken token) : IDisposable
    {
        public CancellationToken Token { get; } = token;

        public void Dispose() => source?.Dispose();
    }

    public static bool TimedOut(ServerCallContext call) =>
        call.Deadline <= DateTime.UtcNow || (call.UserState.TryGetValue(DeadlineKey, out var at) && at is DateTime deadline && deadline <= DateTime.UtcNow);

    /// <summary>
    /// Answers a request that never reaches a gRPC handler (refused by a middleware) with a gRPC status: a
    /// trailers-only response, which gRPC clients read as that status and message.
    /// </summary>
    public static Task RefuseAsync(HttpContext http, StatusCode status, string message)
    {
        http.Response.StatusCode = StatusCodes.Status200OK;
        http.Response.ContentType = "application/grpc";
        http.Response.Headers["grpc-status"] = ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture);
        http.Response.Headers["grpc-message"] = Uri.EscapeDataString(message);
        return Task.CompletedTask;
    }

    public static double Seconds(long started) => Stopwatch.GetElapsedTime(started).TotalSeconds;

    /// <summary>A REST body to hand to the REST readers; dispose it once what was read from it is used.</summary>
    public static JsonDocument Body(JsonNode body) => JsonDocument.Parse(body.ToJsonString());
}
