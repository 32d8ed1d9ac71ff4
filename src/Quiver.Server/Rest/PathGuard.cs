using Microsoft.AspNetCore.Http.Features;

namespace Quiver.Server.Rest;

/// <summary>
/// Request targets are taken literally, as Qdrant takes them, never resolved into another endpoint:
/// <list type="bullet">
/// <item><c>.</c> and <c>..</c> segments (raw or percent-encoded) get 400; Kestrel would resolve them, so
/// <c>DELETE /collections/c/index/%2e%2e</c> would become <c>DELETE /collections/c/</c>;</item>
/// <item>a trailing slash gets 404, as in Qdrant; ASP.NET routing would match <c>/collections/c/</c> to
/// <c>/collections/{name}</c>, and clients that resolve dot segments themselves (browsers, .NET's
/// <c>Uri</c>) turn a name of <c>..</c> into exactly that.</item>
/// </list>
/// A name built from user input must never climb to, and act on, the enclosing resource.
/// </summary>
internal static class PathGuard
{
    public static async Task InvokeAsync(HttpContext http, RequestDelegate next)
    {
        var raw = http.Features.Get<IHttpRequestFeature>()?.RawTarget ?? string.Empty;
        var end = raw.AsSpan().IndexOfAny('?', '#');
        var path = end < 0 ? raw : raw[..end];
        if (HasDotSegment(path))
        {
            await RestHandler.WriteErrorAsync(http, StatusCodes.Status400BadRequest,
                "Bad request: path segments `.` and `..` are not allowed (names with them cannot be addressed)", System.Diagnostics.Stopwatch.GetTimestamp()).ConfigureAwait(false);
            return;
        }

        if (path.Length > 1 && path[^1] == '/')
        {
            await RestHandler.WriteErrorAsync(http, StatusCodes.Status404NotFound,
                $"Not found: no endpoint {http.Request.Method} {path} (paths take no trailing slash)", System.Diagnostics.Stopwatch.GetTimestamp()).ConfigureAwait(false);
            return;
        }

        await next(http).ConfigureAwait(false);
    }

    private static bool HasDotSegment(string path)
    {
        foreach (var segment in path.Split('/'))
        {
            // Only short segments can decode to "." or ".." ("%2e%2e" is the longest spelling).
            if (segment.Length is 0 or > 6 || (!segment.Contains('.', StringComparison.Ordinal) && !segment.Contains('%', StringComparison.Ordinal)))
                continue;
            if (Uri.UnescapeDataString(segment) is "." or "..")
                return true;
        }

        return false;
    }
}
