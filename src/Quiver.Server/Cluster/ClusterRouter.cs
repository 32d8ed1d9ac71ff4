using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Quiver.Cluster;
using Quiver.Engine.Catalog;
using Quiver.Engine.Collections;
using Quiver.Server.Rest;

namespace Quiver.Server.Cluster;

/// <summary>
/// Cluster mode's read path: a read of a collection's points is scattered to one serving replica per shard (this
/// node's own shards run in-process, the others' on their nodes over the internal forward) and the parts are merged
/// as one node would have answered. A node that fails or no longer serves a shard is replaced by the next replica.
/// Writes need no routing: the engine appends each shard's part to its log from any node.
/// </summary>
internal sealed partial class ClusterRouter : IDisposable
{
    /// <summary>Names the shards a forwarded read is to run over (comma-separated ids).</summary>
    public const string ShardsHeader = "x-quiver-shards";

    private readonly ClusterNode _node;
    private readonly CollectionCatalog _catalog;
    private readonly TimeSpan _peerTimeout;
    private readonly HttpClient _http = new(new SocketsHttpHandler
    {
        ConnectTimeout = TimeSpan.FromSeconds(2),
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        MaxConnectionsPerServer = 256,
    })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    public ClusterRouter(ClusterNode node, CollectionCatalog catalog, TimeSpan peerTimeout)
    {
        _node = node;
        _catalog = catalog;
        _peerTimeout = peerTimeout;
    }

    internal enum ReadKind
    {
        None,
        Query,
        QueryBatch,
        Scroll,
        Count,
        Facet,
        Retrieve,
        GetPoint,
        Unsupported,
    }

    public async Task InvokeAsync(HttpContext http, RequestDelegate next)
    {
        if (http.Request.Headers.TryGetValue(ShardsHeader, out var header))
        {
            var text = header.ToString();
            var slash = text.IndexOf('/', StringComparison.Ordinal);
            if (slash <= 0 || !TryParseShards(text[(slash + 1)..], out var shards))
            {
                await RestHandler.WriteErrorAsync(http, StatusCodes.Status400BadRequest, $"{ShardsHeader}: expected incarnation/comma-separated shard ids", Stopwatch.GetTimestamp()).ConfigureAwait(false);
                return;
            }

            var target = Classify(http.Request.Method, http.Request.Path.Value ?? string.Empty).Collection;
            if (target is not null && _catalog.TryGet(target) is { } held && held.Incarnation != text[..slash])
            {
                // The coordinator and this node hold different incarnations (a resharding is switching over): the
                // coordinator asks another replica, or the client retries.
                await RestHandler.WriteErrorAsync(http, StatusCodes.Status503ServiceUnavailable,
                    $"Service unavailable: this node holds another incarnation of `{target}` (it is being resharded); retry", Stopwatch.GetTimestamp()).ConfigureAwait(false);
                return;
            }

            if (!await CatchUpAsync(http, target, shards).ConfigureAwait(false))
            {
                await RestHandler.WriteErrorAsync(http, StatusCodes.Status503ServiceUnavailable, "Service unavailable: this node's replicas could not catch up with their logs in time", Stopwatch.GetTimestamp()).ConfigureAwait(false);
                return;
            }

            http.Features.Set(new ShardSubset(shards));
            await next(http).ConfigureAwait(false);
            return;
        }

        var (kind, name) = Classify(http.Request.Method, http.Request.Path.Value ?? string.Empty);
        if (kind == ReadKind.None)
        {
            await next(http).ConfigureAwait(false);
            return;
        }

        if (kind == ReadKind.Unsupported)
        {
            await RestHandler.WriteErrorAsync(http, StatusCodes.Status400BadRequest,
                $"Wrong input: {http.Request.Method} {http.Request.Path} is not available in cluster mode yet", Stopwatch.GetTimestamp()).ConfigureAwait(false);
            return;
        }

        if (http.Request.Headers.TryGetValue(WriteToken.ReadAfterHeader, out var token) && !WriteToken.TryParse(token.ToString(), out _, out _))
        {
            await RestHandler.WriteErrorAsync(http, StatusCodes.Status400BadRequest,
                $"Wrong input: {WriteToken.ReadAfterHeader}: expected the {WriteToken.WriteHeader} of a write (shard:sequence,...)", Stopwatch.GetTimestamp()).ConfigureAwait(false);
            return;
        }

        // An unknown collection: the handler answers 404 as on a single node.
        if (_catalog.TryGet(name!) is not { } collection)
        {
            await next(http).ConfigureAwait(false);
            return;
        }

        await ScatterAsync(http, next, kind, collection).ConfigureAwait(false);
    }

    /// <summary>
    /// Before a part of a read runs here: replicas that started serving moments ago (or every replica, for a read
    /// with <c>read_consistency</c> other than 1) first apply all their logs held when the read arrived. False when
    /// the logs cannot be asked.
    /// </summary>
    private async Task<bool> CatchUpAsync(HttpContext http, string? collection, IReadOnlyList<int> shards)
    {
        if (collection is null || _catalog.TryGet(collection) is not { } target)
            return true;
        var strong = http.Request.Query.TryGetValue("read_consistency", out var consistency) && consistency.ToString() != "1";
        // A replica that cannot catch up in time (its log unreachable, its follower restarting) answers 503, and the
        // coordinating node asks the shard's next replica.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        deadline.CancelAfter(_peerTimeout * 0.8);
        try
        {
            await target.CatchUpWithLogAsync(shards, strong ? null : _node.FreshReplicaWindow, deadline.Token).ConfigureAwait(false);
            if (http.Request.Headers.TryGetValue(WriteToken.ReadAfterHeader, out var token) && WriteToken.TryParse(token.ToString(), out var incarnation, out var after)
                && (incarnation is null || incarnation == target.Incarnation))
            {
                foreach (var shard in shards)
                {
                    if (after.TryGetValue(shard, out var sequence))
                        await target.WaitLocalAppliedAsync(shard, sequence, deadline.Token).ConfigureAwait(false);
                }
            }

            return true;
        }
        catch (NATS.Client.Core.NatsException)
        {
            return false;
        }
        catch (OperationCanceledException) when (!http.RequestAborted.IsCancellationRequested)
        {
            return false;
        }
    }

    private static bool TryParseShards(string text, out List<int> shards)
    {
        shards = [];
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var shard))
                return false;
            shards.Add(shard);
        }

        return shards.Count > 0;
    }

    /// <summary>Which scatter-gather a request needs, from its method and path (<c>/collections/{name}/...</c>).</summary>
    internal static (ReadKind Kind, string? Collection) Classify(string method, string path)
    {
        var parts = path.Trim('/').Split('/');
        if (parts.Length < 3 || parts[0] != "collections")
            return (parts.Length >= 1 && parts[0] == "snapshots" ? ReadKind.Unsupported : ReadKind.None, null);
        var name = parts[1];
        var rest = string.Join('/', parts[2..]);
        var kind = (method, rest) switch
        {
            ("POST", "points/query") => ReadKind.Query,
            ("POST", "points/query/batch") => ReadKind.QueryBatch,
            ("POST", "points/scroll") => ReadKind.Scroll,
            ("POST", "points/count") => ReadKind.Count,
            ("POST", "facet") => ReadKind.Facet,
            ("POST", "points") => ReadKind.Retrieve,
            ("GET", _) when parts.Length == 4 && parts[2] == "points" => ReadKind.GetPoint,
            ("POST", "points/query/groups" or "points/search/matrix/pairs" or "points/search/matrix/offsets") => ReadKind.Unsupported,
            (_, _) when parts[2] == "snapshots" => ReadKind.Unsupported,
            _ => ReadKind.None,
        };
        return (kind, name);
    }

    private async Task ScatterAsync(HttpContext http, RequestDelegate next, ReadKind kind, Collection collection)
    {
        var started = Stopwatch.GetTimestamp();
        if (kind != ReadKind.GetPoint && !IsJson(http.Request.ContentType))
        {
            // The handler refuses a body that is not JSON, exactly as on one node (the CSRF guard).
            await next(http).ConfigureAwait(false);
            return;
        }

        var body = await ReadBodyAsync(http).ConfigureAwait(false);
        ClusterRead read;
        try
        {
            read = ClusterRead.Prepare(kind, body, collection.Config);
        }
        catch (JsonException)
        {
            // Not JSON: the handler here answers with the same 400 a single node gives.
            http.Request.Body = new MemoryStream(body);
            await next(http).ConfigureAwait(false);
            return;
        }

        if (read.Refusal is { } refusal)
        {
            await RestHandler.WriteErrorAsync(http, StatusCodes.Status400BadRequest, refusal, started).ConfigureAwait(false);
            return;
        }

        IReadOnlyList<ShardRoute> plan = _node.ReadPlan(collection.Incarnation!, collection.ShardNumber);
        if (kind == ReadKind.GetPoint)
        {
            // One shard holds the point: ask only it, so its answer (the point, or 404) is the answer.
            if (!Segment.Points.PointId.TryParse(Uri.UnescapeDataString(http.Request.Path.Value!.TrimEnd('/').Split('/')[^1]), out var id))
            {
                await next(http).ConfigureAwait(false);
                return;
            }

            plan = [plan[collection.ShardOfPoint(id)]];
        }

        if (plan.FirstOrDefault(r => r.Replicas.Count == 0) is { } unserved)
        {
            await RestHandler.WriteErrorAsync(http, StatusCodes.Status503ServiceUnavailable,
                $"Service unavailable: no node serves shard {unserved.Shard} of {collection.Name} right now; retry shortly", started).ConfigureAwait(false);
            return;
        }

        var (parts, failure) = await GatherAsync(http, next, collection.Name, collection.Incarnation!, plan, read.Body).ConfigureAwait(false);
        if (failure is { } failed)
        {
            // A refusal (bad input) is the same on every node: pass the first one on as it is.
            http.Response.StatusCode = failed.Status;
            http.Response.ContentType = "application/json";
            await http.Response.Body.WriteAsync(failed.Body, http.RequestAborted).ConfigureAwait(false);
            return;
        }

        await WriteMergedAsync(http, started, w => read.Merge(w, parts)).ConfigureAwait(false);
    }

    private static bool IsJson(string? contentType) =>
        Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out var media)
        && (media.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || media.MediaType.Value?.EndsWith("+json", StringComparison.OrdinalIgnoreCase) == true);

    private static async Task<byte[]> ReadBodyAsync(HttpContext http)
    {
        using var buffer = new MemoryStream();
        await http.Request.Body.CopyToAsync(buffer, http.RequestAborted).ConfigureAwait(false);
        return buffer.ToArray();
    }

    private static async Task WriteMergedAsync(HttpContext http, long started, Action<Utf8JsonWriter> result)
    {
        http.Response.StatusCode = StatusCodes.Status200OK;
        http.Response.ContentType = "application/json";
        await using (var w = new Utf8JsonWriter(http.Response.BodyWriter, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, MaxDepth = 256 }))
        {
            w.WriteStartObject();
            w.WritePropertyName("result");
            result(w);
            w.WriteString("status", "ok");
            w.WriteNumber("time", Stopwatch.GetElapsedTime(started).TotalSeconds);
            w.WriteEndObject();
        }

        await http.Response.BodyWriter.FlushAsync(http.RequestAborted).ConfigureAwait(false);
    }

    public void Dispose() => _http.Dispose();

    /// <summary>A part's answer: its status and JSON body.</summary>
    internal readonly record struct PartResult(int Status, byte[] Body);
}
