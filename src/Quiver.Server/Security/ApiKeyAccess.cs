using System.Security.Cryptography;
using System.Text;
using Quiver.Engine.Catalog;
using Quiver.Server.Rest;

namespace Quiver.Server.Security;

/// <summary>
/// <c>service.api_key</c> and <c>service.read_only_api_key</c>: once either is set, every request but the health
/// checks must carry a key, in the <c>api-key</c> header or as <c>Authorization: Bearer</c>. No key, or a wrong one,
/// gets 401; the read-only key on a write endpoint gets 403.
/// </summary>
internal sealed class ApiKeyAccess
{
    /// <summary>Probes answer without a key, as Qdrant's do (orchestrators call them unauthenticated).</summary>
    private static readonly HashSet<string> Open = new(StringComparer.Ordinal) { "/healthz", "/livez", "/readyz" };

    /// <summary>
    /// POST endpoints that only read (searches and lookups carry their request in a body). Every other POST, and
    /// every PUT, PATCH and DELETE, is a write: an endpoint added later is refused to the read-only key until it is
    /// listed here.
    /// </summary>
    private static readonly HashSet<string> ReadingPosts = new(StringComparer.Ordinal)
    {
        "/collections/{name}/points",
        "/collections/{name}/points/scroll",
        "/collections/{name}/points/count",
        "/collections/{name}/points/query",
        "/collections/{name}/points/query/batch",
        "/collections/{name}/points/query/groups",
        "/collections/{name}/points/search",
        "/collections/{name}/points/search/batch",
        "/collections/{name}/points/search/groups",
        "/collections/{name}/points/search/matrix/pairs",
        "/collections/{name}/points/search/matrix/offsets",
        "/collections/{name}/points/recommend",
        "/collections/{name}/points/recommend/batch",
        "/collections/{name}/points/recommend/groups",
        "/collections/{name}/points/discover",
        "/collections/{name}/points/discover/batch",
        "/collections/{name}/facet",
    };

    /// <summary>Endpoints that create, change or delete collections or aliases: global manage access only.</summary>
    private static readonly HashSet<string> ManageEndpoints = new(StringComparer.Ordinal)
    {
        "PUT /collections/{name}",
        "PATCH /collections/{name}",
        "DELETE /collections/{name}",
        "POST /collections/aliases",
        // Resharding changes a collection's layout.
        "POST /collections/{name}/cluster",
        "DELETE /cluster/peer/{peer}",
        // Recovery replaces (or creates) a collection wholesale.
        "PUT /collections/{name}/snapshots/recover",
        "POST /collections/{name}/snapshots/upload",
        // A connector writes into collections on its own, for as long as it runs.
        "PUT /quiver/connectors/{connector}",
        "DELETE /quiver/connectors/{connector}",
        "POST /quiver/connectors/{connector}/pause",
        "POST /quiver/connectors/{connector}/resume",
    };

    /// <summary>What a per-collection grant may call without naming a collection (the listings are filtered).</summary>
    private static readonly HashSet<string> ScopedGlobalReads = new(StringComparer.Ordinal) { "GET /", "GET /collections", "GET /aliases" };

    private readonly byte[]? _fullKeyHash;
    private readonly byte[]? _readKeyHash;
    private readonly JwtAccess? _jwt;
    private readonly CollectionCatalog _catalog;

    public ApiKeyAccess(string? apiKey, string? readOnlyApiKey, bool jwtRbac, CollectionCatalog catalog)
    {
        _fullKeyHash = apiKey is null ? null : Hash(apiKey);
        _readKeyHash = readOnlyApiKey is null ? null : Hash(readOnlyApiKey);
        _jwt = jwtRbac && apiKey is not null ? new JwtAccess(apiKey, catalog) : null;
        _catalog = catalog;
    }

    public bool Enabled => _fullKeyHash is not null || _readKeyHash is not null;

    public async Task InvokeAsync(HttpContext http, RequestDelegate next)
    {
        var path = http.Request.Path.Value ?? string.Empty;
        if (!Enabled || Open.Contains(path) || path.StartsWith("/grpc.health.v1.Health/", StringComparison.Ordinal))
        {
            await next(http).ConfigureAwait(false);
            return;
        }

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var grpc = IsGrpc(http);
        var key = PresentedKey(http.Request);
        if (key is null)
        {
            await RefuseAsync(http, grpc, StatusCodes.Status401Unauthorized, "Must provide an API key or an Authorization bearer token", started).ConfigureAwait(false);
            return;
        }

        // Keys are compared as hashes in constant time, so neither their bytes nor their lengths leak.
        var presented = Hash(key);
        AccessGrant? grant = null;
        if (_fullKeyHash is not null && CryptographicOperations.FixedTimeEquals(presented, _fullKeyHash))
            grant = AccessGrant.Full;
        else if (_readKeyHash is not null && CryptographicOperations.FixedTimeEquals(presented, _readKeyHash))
            grant = AccessGrant.ReadOnly;
        else if (_jwt is not null && JwtAccess.LooksLikeJwt(key))
        {
            var (tokenGrant, error, forbidden) = await _jwt.ValidateAsync(key).ConfigureAwait(false);
            if (tokenGrant is null)
            {
                await RefuseAsync(http, grpc, forbidden ? StatusCodes.Status403Forbidden : StatusCodes.Status401Unauthorized, error, started).ConfigureAwait(false);
                return;
            }

            grant = tokenGrant;
        }

        if (grant is null)
        {
            await RefuseAsync(http, grpc, StatusCodes.Status401Unauthorized, "Invalid API key or JWT", started).ConfigureAwait(false);
            return;
        }

        // A gRPC call is authorized by its method and the collection its message names (Grpc.GrpcAccess).
        if (!grpc && Refusal(http, grant) is { } refusal)
        {
            await RestHandler.WriteErrorAsync(http, StatusCodes.Status403Forbidden, $"Forbidden: {refusal}", started).ConfigureAwait(false);
            return;
        }

        http.Features.Set(grant);
        await next(http).ConfigureAwait(false);
    }

    /// <summary>
    /// Whether the request reached a gRPC method. Decided by the matched endpoint, never by a header the client
    /// chooses: a REST request claiming to be gRPC is still held to the REST checks.
    /// </summary>
    private static bool IsGrpc(HttpContext http) => http.GetEndpoint()?.Metadata.GetMetadata<global::Grpc.AspNetCore.Server.GrpcMethodMetadata>() is not null;

    /// <summary>A refusal in the caller's protocol: the REST error envelope, or a gRPC status (a trailers-only response).</summary>
    private static Task RefuseAsync(HttpContext http, bool grpc, int status, string message, long started)
    {
        if (!grpc)
            return RestHandler.WriteErrorAsync(http, status, message, started);
        return Grpc.GrpcCalls.RefuseAsync(http, status == StatusCodes.Status401Unauthorized ? global::Grpc.Core.StatusCode.Unauthenticated : global::Grpc.Core.StatusCode.PermissionDenied, message);
    }

    /// <summary>Why <paramref name="grant"/> does not allow this request, or null when it does.</summary>
    private string? Refusal(HttpContext http, AccessGrant grant)
    {
        if (grant.Manage)
            return null;
        var write = IsWrite(http);
        // Methods are matched without regard to case by routing (`delete` reaches DELETE): compare them canonicalized.
        var endpoint = $"{HttpMethods.GetCanonicalizedValue(http.Request.Method).ToUpperInvariant()} {EndpointTemplate(http)}";
        if (ManageEndpoints.Contains(endpoint))
            return "this operation needs global manage access";
        if (http.GetRouteValue("name") is not string name)
        {
            if (grant.ReadAll)
                return write ? "the read-only API key cannot call write endpoints" : null;
            return !write && ScopedGlobalReads.Contains(endpoint) ? null : "this operation needs global access";
        }

        // Access is to collections, whatever name (or alias) the request uses; refusals echo the name used, so they
        // never reveal which collection an alias points to.
        var collection = _catalog.TryGet(name)?.Name ?? name;
        if (write)
            return grant.CanWrite(collection) ? null : grant.ReadAll ? "the read-only API key cannot call write endpoints" : $"no write access to `{name}`";
        return grant.CanRead(collection) ? null : $"no access to `{name}`";
    }

    /// <summary>Whether the matched endpoint changes state (see <see cref="ReadingPosts"/>); unmatched requests read.</summary>
    private static bool IsWrite(HttpContext http)
    {
        var method = http.Request.Method;
        if (HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method))
            return false;
        var template = EndpointTemplate(http);
        return template.Length == 0 || !HttpMethods.IsPost(method) || !ReadingPosts.Contains(template);
    }

    /// <summary>The matched endpoint's route template (<c>/collections/{name}</c>), or empty when none matched.</summary>
    private static string EndpointTemplate(HttpContext http) =>
        (http.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText is { } raw ? (raw.StartsWith('/') ? raw : "/" + raw) : string.Empty;

    private static string? PresentedKey(HttpRequest request)
    {
        if (request.Headers.TryGetValue("api-key", out var header) && header.Count == 1 && !string.IsNullOrEmpty(header[0]))
            return header[0];
        var authorization = request.Headers.Authorization;
        if (authorization.Count == 1 && authorization[0] is { } value && value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            var token = value["Bearer ".Length..].Trim();
            return token.Length == 0 ? null : token;
        }

        return null;
    }

    private static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));
}
