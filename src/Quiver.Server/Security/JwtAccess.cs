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

    private readonly byte[] _key = Encoding.UTF8.GetBytes(apiKey);

    private TokenValidationParameters Validation => new()
    {
        // The signature is checked here rather than by the library, which refuses HMAC keys shorter than the hash
        // (32 bytes for HS256); Qdrant accepts an API key of any length as the signing key. Lifetime stays the library's.
        SignatureValidator = (token, _) => VerifySignature(token),
        ValidateIssuer = false,
        ValidateAudience = false,
        ValidateIssuerSigningKey = false,
        ValidateLifetime = true,
        RequireExpirationTime = false,
        RequireSignedTokens = true,
        ClockSkew = TimeSpan.Zero,
    };

    /// <summary>The token if its HMAC signature (HS256/384/512) is the API key's; otherwise throws, as the library expects.</summary>
    private JsonWebToken VerifySignature(string token)
    {
        var jwt = new JsonWebToken(token);
        var signingInput = Encoding.ASCII.GetBytes(token[..token.LastIndexOf('.')]);
        byte[] expected = jwt.Alg switch
        {
            SecurityAlgorithms.HmacSha256 => System.Security.Cryptography.HMACSHA256.HashData(_key, signingInput),
            SecurityAlgorithms.HmacSha384 => System.Security.Cryptography.HMACSHA384.HashData(_key, signingInput),
            SecurityAlgorithms.HmacSha512 => System.Security.Cryptography.HMACSHA512.HashData(_key, signingInput),
            _ => throw new SecurityTokenInvalidAlgorithmException($"unsupported algorithm `{jwt.Alg}`; HS256, HS384 or HS512 expected"),
        };
        byte[] signature;
        try
        {
            signature = Base64UrlEncoder.DecodeBytes(token[(token.LastIndexOf('.') + 1)..]);
        }
        catch (FormatException)
        {
            throw new SecurityTokenInvalidSignatureException("the signature is not base64url");
        }

        if (!System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(signature, expected))
            throw new SecurityTokenInvalidSignatureException("the token is not signed with this server's key");
        return jwt;
    }

    /// <summary>Whether <paramref name="token"/> has a JWT's shape (three dot-separated parts) rather than a plain key's.</summary>
    public static bool LooksLikeJwt(string token) => token.Count(c => c == '.') == 2;

    /// <summary>The grant of a valid token; otherwise null and why (a 401, or a 403 when <c>Forbidden</c>).</summary>
    public async Task<(AccessGrant? Grant, string Error, bool Forbidden)> ValidateAsync(string token)
    {
        var result = await _handler.ValidateTokenAsync(token, Validation).ConfigureAwait(false);
        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt)
        {
            var reason = result.Exception switch
            {
                SecurityTokenExpiredException => "the token has expired",
                SecurityTokenNotYetValidException => "the token is not valid yet",
                SecurityTokenInvalidAlgorithmException e => e.Message,
                _ => "the token is not signed with this server's key",
            };
            return (null, $"Invalid API key or JWT: {reason}", false);
        }

        // Claims come from the client: any shape they have is a refusal, never a server error.
        try
        {
            using var document = JsonDocument.Parse(Base64UrlEncoder.Decode(jwt.EncodedPayload));
            var payload = document.RootElement;
            if (payload.ValueKind != JsonValueKind.Object || !payload.TryGetProperty("access", out var access))
                return (null, "Invalid JWT: the `access` claim is missing", false);
            var grant = Grant(access);
            if (payload.TryGetProperty("value_exists", out var exists) && !ValueExists(exists))
                return (null, "Forbidden: the token's value_exists condition does not hold", true);
            return (grant, string.Empty, false);
        }
        catch (Exception ex) when (ex is FormatException or JsonException or InvalidOperationException or ArgumentException or Segment.Errors.QuiverException)
        {
            return (null, $"Invalid JWT: {ex.Message}", false);
        }
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
                || !entry.TryGetProperty("access", out var level) || level.ValueKind != JsonValueKind.String || level.GetString() is not ("r" or "rw"))
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
