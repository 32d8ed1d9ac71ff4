using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Quiver.Engine.Catalog;
using Quiver.Segment.Filtering;
using Quiver.Segment.Payloads;

namespace Quiver.Server.Security;

/// <summary>
/// <c>service.jwt_rbac</c>: JWTs signed with the API key (HS256), with Qdrant's claims. <c>exp</c> (seconds since
/// the epoch) is enforced when present. <c>access</c> is <c>"m"</c> (manage: everything), <c>"r"</c> (read
/// everything), or a list of <c>{"collection": name, "access": "r" | "rw"}</c>. <c>value_exists</c>
/// (<c>{"collection": name, "matches": [{"key": k, "value": v}]}</c>) makes the token valid only while a point
/// matching every pair exists there, so revoking a user is deleting a point.
/// </summary>
internal sealed class JwtAccess(string apiKey, CollectionCatalog catalog)
{
    private readonly JsonWebTokenHandler _handler = new();

    private readonly TokenValidationParameters _validation = new()
    {
        IssuerSigningKey = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(apiKey)),
        ValidAlgorithms = [SecurityAlgorithms.HmacSha256, SecurityAlgorithms.HmacSha384, SecurityAlgorithms.HmacSha512],
        ValidateIssuer = false,
        ValidateAudience = false,
        ValidateLifetime = true,
        RequireExpirationTime = false,
        ClockSkew = TimeSpan.Zero,
    };

    /// <summary>Whether <paramref name="token"/> has a JWT's shape (three dot-separated parts) rather than a plain key's.</summary>
    public static bool LooksLikeJwt(string token) => token.Count(c => c == '.') == 2;

    /// <summary>The grant of a valid token; otherwise null and why (a 401, or a 403 when <c>Forbidden</c>).</summary>
    public async Task<(AccessGrant? Grant, string Error, bool Forbidden)> ValidateAsync(string token)
    {
        var result = await _handler.ValidateTokenAsync(token, _validation).ConfigureAwait(false);
        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt)
        {
            var reason = result.Exception is SecurityTokenExpiredException ? "the token has expired" : "the token is not signed with this server's key";
            return (null, $"Invalid API key or JWT: {reason}", false);
        }

        var payload = JsonDocument.Parse(Base64UrlEncoder.Decode(jwt.EncodedPayload)).RootElement;
        if (!payload.TryGetProperty("access", out var access))
            return (null, "Invalid JWT: the `access` claim is missing", false);
        AccessGrant grant;
        try
        {
            grant = Grant(access);
        }
        catch (FormatException ex)
        {
            return (null, $"Invalid JWT: {ex.Message}", false);
        }

        if (payload.TryGetProperty("value_exists", out var exists) && !ValueExists(exists))
            return (null, "Forbidden: the token's value_exists condition does not hold", true);
        return (grant, string.Empty, false);
    }

    private static AccessGrant Grant(JsonElement access)
    {
        if (access.ValueKind == JsonValueKind.String)
        {
            return access.GetString() switch
            {
                "m" => AccessGrant.Full,
                "r" => AccessGrant.ReadOnly,
                var other => throw new FormatException($"`access` must be \"r\", \"m\" or a list of collection grants, not \"{other}\""),
            };
        }

        if (access.ValueKind != JsonValueKind.Array)
            throw new FormatException("`access` must be \"r\", \"m\" or a list of collection grants");
        var collections = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (var entry in access.EnumerateArray())
        {
            if (entry.ValueKind != JsonValueKind.Object || !entry.TryGetProperty("collection", out var name) || name.ValueKind != JsonValueKind.String
                || !entry.TryGetProperty("access", out var level) || level.GetString() is not ("r" or "rw"))
            {
                throw new FormatException("each collection grant needs `collection` and `access` (\"r\" or \"rw\")");
            }

            // A restriction this server cannot enforce must not silently widen into the whole collection.
            if (entry.TryGetProperty("payload", out _))
                throw new FormatException("payload-restricted collection grants are not supported");
            var write = level.GetString() == "rw";
            collections[name.GetString()!] = write || collections.GetValueOrDefault(name.GetString()!);
        }

        return AccessGrant.ForCollections(collections);
    }

    private bool ValueExists(JsonElement claim)
    {
        if (claim.ValueKind != JsonValueKind.Object || !claim.TryGetProperty("collection", out var name) || name.ValueKind != JsonValueKind.String
            || !claim.TryGetProperty("matches", out var matches) || matches.ValueKind != JsonValueKind.Array || matches.GetArrayLength() == 0)
        {
            return false;
        }

        var conditions = new List<Condition>();
        foreach (var match in matches.EnumerateArray())
        {
            if (match.ValueKind != JsonValueKind.Object || !match.TryGetProperty("key", out var key) || key.ValueKind != JsonValueKind.String
                || !match.TryGetProperty("value", out var value))
            {
                return false;
            }

            MatchValue? condition = value.ValueKind switch
            {
                JsonValueKind.String => MatchValue.OfKeyword(value.GetString()!),
                JsonValueKind.Number when value.TryGetInt64(out var n) => MatchValue.OfInteger(n),
                JsonValueKind.True or JsonValueKind.False => MatchValue.OfBool(value.GetBoolean()),
                _ => null,
            };
            if (condition is null)
                return false;
            try
            {
                conditions.Add(new FieldCondition(JsonPath.Parse(key.GetString()!), condition));
            }
            catch (Segment.Errors.QuiverException)
            {
                return false;
            }
        }

        return catalog.TryGet(name.GetString()!) is { } collection && collection.Count(new Filter(must: conditions)) > 0;
    }
}
