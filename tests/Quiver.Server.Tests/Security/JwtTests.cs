using System.Net;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Quiver.Server.Tests.Infrastructure;

namespace Quiver.Server.Tests.Security;

/// <summary>A server with <c>service.jwt_rbac</c>: tokens signed with the API key grant what their claims say.</summary>
public sealed class JwtFixture() : ConfiguredServerFixture($"service:\n  api_key: \"{Key}\"\n  jwt_rbac: true\n")
{
    public const string Key = "jwt-signing-key-0123456789abcdef";
}

public sealed class JwtTests(JwtFixture fixture) : IClassFixture<JwtFixture>
{
    private static string Token(string claimsJson, string key = JwtFixture.Key)
    {
        var handler = new JsonWebTokenHandler();
        var credentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(key)), SecurityAlgorithms.HmacSha256);
        return handler.CreateToken(claimsJson, credentials);
    }

    [Fact]
    public async Task Claims_restrict_access_per_collection_and_expired_or_foreign_tokens_are_refused()
    {
        using var http = new HttpClient { BaseAddress = fixture.Server.BaseAddress };
        var admin = JwtFixture.Key;
        foreach (var name in new[] { "jwt_a", "jwt_b", "jwt_c" })
            Assert.Equal(HttpStatusCode.OK, (await http.SendAsync("PUT", $"/collections/{name}", """{"vectors":{"size":2,"distance":"Dot"}}""", admin)).Status);
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync("POST", "/collections/aliases", """{"actions":[{"create_alias":{"collection_name":"jwt_a","alias_name":"jwt_a_alias"}},{"create_alias":{"collection_name":"jwt_c","alias_name":"jwt_c_alias"}}]}""", admin)).Status);
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync("PUT", "/collections/jwt_a/points?wait=true", """{"points":[{"id":1,"vector":[1,0],"payload":{"user":"alice"}},{"id":2,"vector":[0,1],"payload":{"user":"bob"}}]}""", admin)).Status);

        // Global manage and global read.
        var manage = Token("""{"access":"m"}""");
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync("PUT", "/collections/jwt_d", """{"vectors":{"size":2,"distance":"Dot"}}""", manage)).Status);
        var read = Token("""{"access":"r"}""");
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync("POST", "/collections/jwt_c/points/count", "{}", read)).Status);
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync("GET", "/metrics", null, read)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await http.SendAsync("PUT", "/collections/jwt_c/points?wait=true", """{"points":[{"id":5,"vector":[1,1]}]}""", read)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await http.SendAsync("DELETE", "/collections/jwt_d", null, read)).Status);

        // Per collection: read-write on a, read on b, nothing on c.
        var scoped = Token("""{"access":[{"collection":"jwt_a","access":"rw"},{"collection":"jwt_b","access":"r"}],"exp":4102444800}""");
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync("PUT", "/collections/jwt_a/points?wait=true", """{"points":[{"id":3,"vector":[1,1]}]}""", scoped)).Status);
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync("POST", "/collections/jwt_a_alias/points/query", """{"query":[1,0]}""", scoped, bearer: true)).Status);
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync("POST", "/collections/jwt_b/points/query", """{"query":[1,0]}""", scoped)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await http.SendAsync("PUT", "/collections/jwt_b/points?wait=true", """{"points":[{"id":3,"vector":[1,1]}]}""", scoped)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await http.SendAsync("GET", "/collections/jwt_c", null, scoped)).Status);
        // An alias does not open the collection behind it.
        Assert.Equal(HttpStatusCode.Forbidden, (await http.SendAsync("POST", "/collections/jwt_c_alias/points/count", "{}", scoped)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await http.SendAsync("DELETE", "/collections/jwt_a", null, scoped)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await http.SendAsync("PUT", "/collections/jwt_e", """{"vectors":{"size":2,"distance":"Dot"}}""", scoped)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await http.SendAsync("POST", "/collections/aliases", """{"actions":[{"delete_alias":{"alias_name":"jwt_a_alias"}}]}""", scoped)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await http.SendAsync("GET", "/metrics", null, scoped)).Status);
        var listed = await http.SendAsync("GET", "/collections", null, scoped);
        Assert.Contains("jwt_a", listed.Text, StringComparison.Ordinal);
        Assert.Contains("jwt_b", listed.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("jwt_c", listed.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("jwt_d", listed.Text, StringComparison.Ordinal);
        var aliases = await http.SendAsync("GET", "/aliases", null, scoped);
        Assert.Contains("jwt_a_alias", aliases.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("jwt_c_alias", aliases.Text, StringComparison.Ordinal);

        // Expired, signed with another key, malformed claims, or a restriction that cannot be enforced: refused.
        var expired = await http.SendAsync("GET", "/collections", null, Token("""{"access":"m","exp":1000000000}"""));
        Assert.Equal(HttpStatusCode.Unauthorized, expired.Status);
        Assert.Contains("expired", expired.Text, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync("GET", "/collections", null, Token("""{"access":"m"}""", "another-key-0123456789abcdefghij"))).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync("GET", "/collections", null, Token("""{"access":"x"}"""))).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync("GET", "/collections", null, Token("""{"exp":4102444800}"""))).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync("GET", "/collections/jwt_a", null, Token("""{"access":[{"collection":"jwt_a","access":"r","payload":{"user":"alice"}}]}"""))).Status);

        // value_exists: valid while alice's point exists.
        var alice = Token("""{"access":[{"collection":"jwt_a","access":"r"}],"value_exists":{"collection":"jwt_a","matches":[{"key":"user","value":"alice"}]}}""");
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync("POST", "/collections/jwt_a/points/count", "{}", alice)).Status);
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync("POST", "/collections/jwt_a/points/delete?wait=true", """{"points":[1]}""", admin)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await http.SendAsync("POST", "/collections/jwt_a/points/count", "{}", alice)).Status);

        // Nothing a refused token tried has happened.
        var count = await http.SendAsync("POST", "/collections/jwt_b/points/count", """{"exact":true}""", admin);
        Assert.Contains("\"count\":0", count.Text, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await http.SendAsync("GET", "/collections/jwt_e", null, admin)).Status);
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync("GET", "/collections/jwt_a", null, admin)).Status);
    }
}
