using System.Globalization;
using System.Net.Http.Headers;
using Quiver.Cluster;

namespace Quiver.Server.Cluster;

internal sealed partial class ClusterRouter
{
    /// <summary>
    /// Runs the read on one serving replica of every shard, grouped by node. A node that fails (unreachable, timed
    /// out, a 5xx such as "no longer serves that shard") has its shards tried on their next replica; a 4xx (bad
    /// input) ends the read with that answer. Parts are the 200 bodies.
    /// </summary>
    private async Task<(List<byte[]> Parts, PartResult? Failure)> GatherAsync(HttpContext http, RequestDelegate next, string collection, string incarnation, IReadOnlyList<ShardRoute> plan, byte[] body)
    {
        // Read once, before any part runs: the local part runs this request's pipeline, which changes the context.
        var forward = new ForwardedRequest(
            http.Request.Method,
            http.Request.Path.Value + http.Request.QueryString.Value,
            [.. ForwardedHeaders.Where(h => http.Request.Headers.ContainsKey(h)).Select(h => (h, http.Request.Headers[h].ToString()))],
            incarnation,
            http.RequestAborted);
        var routes = plan.ToDictionary(r => r.Shard);
        var choice = plan.ToDictionary(r => r.Shard, _ => 0);
        var pending = plan.Select(r => r.Shard).ToList();
        var parts = new List<byte[]>();
        var selfUsed = false;
        string? lastError = null;
        while (pending.Count > 0)
        {
            var groups = pending.GroupBy(s => routes[s].Replicas[choice[s]]).ToList();
            var calls = new List<(PeerEndpoint Peer, List<int> Shards, Task<PartResult> Call)>();
            // Other nodes' parts start first; this node's part (the request's own pipeline, run once) last.
            foreach (var group in groups.Where(g => !g.Key.IsSelf || selfUsed))
                calls.Add((group.Key, group.ToList(), RunRemoteAsync(forward, group.Key, group.ToList(), body)));
            if (!selfUsed && groups.FirstOrDefault(g => g.Key.IsSelf) is { } own)
            {
                selfUsed = true;
                calls.Add((own.Key, own.ToList(), RunLocalAsync(http, next, collection, own.ToList(), body)));
            }

            pending = [];
            foreach (var (peer, shards, call) in calls)
            {
                PartResult result;
                try
                {
                    result = await call.ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException && !http.RequestAborted.IsCancellationRequested)
                {
                    result = new PartResult(StatusCodes.Status503ServiceUnavailable, []);
                    lastError = $"{peer.NodeId}: {ex.Message}";
                }

                if (result.Status == StatusCodes.Status200OK)
                {
                    parts.Add(result.Body);
                    continue;
                }

                if (result.Status < 500)
                    return (parts, result);
                lastError ??= $"{peer.NodeId}: HTTP {result.Status}";
                foreach (var shard in shards)
                {
                    // The next replica; this node's own replica only once (its in-process part has run).
                    do
                    {
                        choice[shard]++;
                    }
                    while (choice[shard] < routes[shard].Replicas.Count && routes[shard].Replicas[choice[shard]].IsSelf && selfUsed);
                    if (choice[shard] >= routes[shard].Replicas.Count)
                    {
                        var message = $"{{\"status\":{{\"error\":\"Service unavailable: every replica of shard {shard} failed ({Escape(lastError)})\"}},\"time\":0}}";
                        return (parts, new PartResult(StatusCodes.Status503ServiceUnavailable, System.Text.Encoding.UTF8.GetBytes(message)));
                    }

                    pending.Add(shard);
                }
            }
        }

        return (parts, null);
    }

    /// <summary>The caller's credentials, trace context and read-your-writes token go with each part.</summary>
    private static readonly string[] ForwardedHeaders = ["api-key", "authorization", "traceparent", "tracestate", WriteToken.ReadAfterHeader];

    /// <summary>What a part sent to another node carries of the original request.</summary>
    private sealed record ForwardedRequest(string Method, string PathAndQuery, IReadOnlyList<(string Name, string Value)> Headers, string Incarnation, CancellationToken Aborted);

    private static string Escape(string? text) => System.Text.Json.JsonEncodedText.Encode(text ?? string.Empty).ToString();

    /// <summary>This node's part: the request's own pipeline over a view of the shards, its answer captured.</summary>
    private async Task<PartResult> RunLocalAsync(HttpContext http, RequestDelegate next, string collection, List<int> shards, byte[] body)
    {
        if (!await CatchUpAsync(http, collection, shards).ConfigureAwait(false))
            return new PartResult(StatusCodes.Status503ServiceUnavailable, []);
        var response = http.Response.Body;
        using var capture = new MemoryStream();
        http.Request.Body = new MemoryStream(body);
        http.Request.ContentLength = body.Length;
        http.Response.Body = capture;
        http.Features.Set(new ShardSubset(shards));
        try
        {
            await next(http).ConfigureAwait(false);
        }
        finally
        {
            http.Response.Body = response;
            http.Features.Set<ShardSubset>(null);
        }

        var status = http.Response.StatusCode;
        http.Response.StatusCode = StatusCodes.Status200OK;
        return new PartResult(status, capture.ToArray());
    }

    /// <summary>Another node's part: the same request, naming the shards, with the caller's credentials.</summary>
    private async Task<PartResult> RunRemoteAsync(ForwardedRequest request, PeerEndpoint peer, List<int> shards, byte[] body)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(request.Aborted);
        timeout.CancelAfter(_peerTimeout);
        using var message = new HttpRequestMessage(new HttpMethod(request.Method), new Uri(peer.Url, request.PathAndQuery));
        if (request.Method != HttpMethods.Get)
        {
            message.Content = new ByteArrayContent(body);
            message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        foreach (var (name, value) in request.Headers)
            message.Headers.TryAddWithoutValidation(name, value);

        message.Headers.Add(ShardsHeader, $"{request.Incarnation}/{string.Join(',', shards.Select(s => s.ToString(CultureInfo.InvariantCulture)))}");
        using var response = await _http.SendAsync(message, timeout.Token).ConfigureAwait(false);
        return new PartResult((int)response.StatusCode, await response.Content.ReadAsByteArrayAsync(timeout.Token).ConfigureAwait(false));
    }
}
