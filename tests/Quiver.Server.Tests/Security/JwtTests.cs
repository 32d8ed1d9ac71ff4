using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.Tokens;
using Quiver.Server.Tests.Infrastructure;

namespace Quiver.Server.Tests.Security;

/// <summary>A server with <c>service.jwt_rbac</c>: tokens signed with the API key grant what their claims say.</summary>
public sealed class JwtFixture() : ConfiguredServerFixture($"service:\n  api_key: \"{Key}\"\n  jwt_rbac: true\n")
{
    /// <summary>Shorter than HS256's 32 bytes on purpose: Qdrant signs with API keys of any length.</summary>
    public const string Key = "short-key-16byte";
}

public sealed class JwtTests(JwtFixture fixture) : IClassFixture<JwtFixture>
{
    /// <summary>A JWT over <paramref name="claimsJson"/>, signed with HMAC-SHA256 by hand (the library will not sign with short keys).</summary>
    private static string Token(string claimsJson, string key = JwtFixture.Key, string alg = "HS256")
    {
        var header = Base64UrlEncoder.Encode($$"""{"alg":"{{alg}}","typ":"JWT"}""");
        var payload = Base64UrlEncoder.Encode(claimsJson);
        var signature = alg == "none" ? string.Empty : Base64UrlEncoder.Encode(HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), Encoding.ASCII.GetBytes($"{header}.{payload}")));
        return $"{header}.{payload}.{signature}";
    }

    [Fact]
    public async Task Methods_in_lower_case_and_odd_claims_are_refused_not_let_through()
    {
        using var http = new HttpClient { BaseAddress = fixture.Server.BaseAddress };
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync("PUT", "/collections/jwt_victim", """{"vectors":{"size":2,"distance":"Dot"}}""", JwtFixture.Key)).Status);
        var scoped = Token("""{"access":[{"collection":"jwt_victim","access":"rw"},{"collection":"jwt_new","access":"rw"}]}""");
        // Routing matches methods whatever their case: the access check must too. Sent raw (HttpClient upper-cases them).
        foreach (var (method, path, body) in new[] { ("delete", "/collections/jwt_victim", ""), ("put", "/collections/jwt_new", """{"vectors":{"size":2,"distance":"Dot"}}"""), ("patch", "/collections/jwt_victim", """{"optimizers_config":{"indexing_threshold":1}}""") })
            Assert.StartsWith("HTTP/1.1 403", await RawAsync(method, path, body, scoped), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync("GET", "/collections/jwt_victim", null, JwtFixture.Key)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await http.SendAsync("GET", "/collections/jwt_new", null, JwtFixture.Key)).Status);

        foreach (var claims in new[] { """{"access":[{"collection":"jwt_victim","access":1}]}""", """{"access":[5]}""", """[1,2]""", """{"access":"m","value_exists":{"collection":"jwt_victim","matches":[{"key":"","value":1}]}}""" })
        {
            var (status, text) = await http.SendAsync("GET", "/collections", null, Token(claims));
            Assert.True(status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden, $"{claims}: {(int)status} {text}");
        }

        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync("GET", "/collections", null, Token("""{"access":"m"}""", alg: "none"))).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync("GET", "/collections", null, Token("""{"access":"m"}""", alg: "RS256"))).Status);
    }

    [Fact]
    public async Task With_lookup_reads_another_collection_only_with_access_to_it()
    {
        using var http = new HttpClient { BaseAddress = fixture.Server.BaseAddress };
        foreach (var name in new[] { "jwt_groups", "jwt_secret" })
        {
            Assert.Equal(HttpStatusCode.OK, (await http.SendAsync("PUT", $"/collections/{name}", """{"vectors":{"size":2,"distance":"Dot"}}""", JwtFixture.Key)).Status);
            Assert.Equal(HttpStatusCode.OK, (await http.SendAsync("PUT", $"/collections/{name}/points?wait=true", """{"points":[{"id":1,"vector":[1,0],"payload":{"g":1,"secret":"s"}}]}""", JwtFixture.Key)).Status);
        }

        var body = """{"query":[1,0],"group_by":"g","with_lookup":"jwt_secret"}""";
        var scoped = Token("""{"access":[{"collection":"jwt_groups","access":"r"}]}""");
        var (status, text) = await http.SendAsync("POST", "/collections/jwt_groups/points/query/groups", body, scoped);
        Assert.True(status == HttpStatusCode.Forbidden, $"{(int)status} {text}");
        Assert.DoesNotContain("\"secret\":\"s\"", text, StringComparison.Ordinal);

        var both = Token("""{"access":[{"collection":"jwt_groups","access":"r"},{"collection":"jwt_secret","access":"r"}]}""");
        (status, text) = await http.SendAsync("POST", "/collections/jwt_groups/points/query/groups", body, both);
        Assert.True(status == HttpStatusCode.OK, text);
        Assert.Contains("\"secret\":\"s\"", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Snapshot_access_follows_the_collection_grant_and_recovery_needs_manage()
    {
        using var http = new HttpClient { BaseAddress = fixture.Server.BaseAddress };
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync("PUT", "/collections/jwt_snap", """{"vectors":{"size":2,"distance":"Dot"}}""", JwtFixture.Key)).Status);
        var reader = Token("""{"access":[{"collection":"jwt_snap","access":"r"}]}""");
        var writer = Token("""{"access":[{"collection":"jwt_snap","access":"rw"}]}""");
        var other = Token("""{"access":[{"collection":"jwt_other","access":"rw"}]}""");

        Assert.Equal(HttpStatusCode.Forbidden, (await http.SendAsync("POST", "/collections/jwt_snap/snapshots", null, reader)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await http.SendAsync("POST", "/collections/jwt_snap/snapshots", null, other)).Status);
        var (status, text) = await http.SendAsync("POST", "/collections/jwt_snap/snapshots", null, writer);
        Assert.True(status == HttpStatusCode.OK, text);
        var name = System.Text.Json.Nodes.JsonNode.Parse(text)!["result"]!["name"]!.GetValue<string>();

        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync("GET", $"/collections/jwt_snap/snapshots/{name}", null, reader)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await http.SendAsync("GET", $"/collections/jwt_snap/snapshots/{name}", null, other)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await http.SendAsync("DELETE", $"/collections/jwt_snap/snapshots/{name}", null, reader)).Status);
        // Recovery replaces a collection wholesale, and full snapshots cover every collection: manage only.
        var location = $$"""{"location":"file:///no/such.snapshot"}""";
        Assert.Equal(HttpStatusCode.Forbidden, (await http.SendAsync("PUT", "/collections/jwt_snap/snapshots/recover", location, writer)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await http.SendAsync("POST", "/snapshots", null, writer)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await http.SendAsync("GET", "/snapshots", null, writer)).Status);
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync("DELETE", $"/collections/jwt_snap/snapshots/{name}", null, writer)).Status);
        Assert.Equal("[]", System.Text.Json.Nodes.JsonNode.Parse((await http.SendAsync("GET", "/collections/jwt_snap/snapshots", null, reader)).Text)!["result"]!.ToJsonString());
    }

    [Fact]
    public async Task Grpc_calls_are_held_to_the_token_claims_per_collection()
    {
        using (var manage = new Qdrant.Client.QdrantClient("127.0.0.1", fixture.Server.GrpcPort, https: false, apiKey: JwtFixture.Key))
        {
            foreach (var name in new[] { "jwt_grpc_a", "jwt_grpc_b" })
            {
                await manage.CreateCollectionAsync(name, new Qdrant.Client.Grpc.VectorParams { Size = 2, Distance = Qdrant.Client.Grpc.Distance.Dot });
                await manage.UpsertAsync(name, [new Qdrant.Client.Grpc.PointStruct { Id = 1, Vectors = new[] { 1f, 0f } }]);
            }
        }

        using var scoped = new Qdrant.Client.QdrantClient("127.0.0.1", fixture.Server.GrpcPort, https: false,
            apiKey: Token("""{"access":[{"collection":"jwt_grpc_a","access":"rw"},{"collection":"jwt_grpc_b","access":"r"}]}"""));
        await scoped.UpsertAsync("jwt_grpc_a", [new Qdrant.Client.Grpc.PointStruct { Id = 2, Vectors = new[] { 0f, 1f } }]);
        Assert.Equal(2UL, await scoped.CountAsync("jwt_grpc_a"));
        Assert.Equal(1UL, await scoped.CountAsync("jwt_grpc_b"));
        var listed = await scoped.ListCollectionsAsync();
        Assert.Contains("jwt_grpc_a", listed);
        Assert.DoesNotContain("jwt_victim", listed);
        foreach (var refused in new Func<Task>[]
        {
            () => scoped.UpsertAsync("jwt_grpc_b", [new Qdrant.Client.Grpc.PointStruct { Id = 2, Vectors = new[] { 0f, 1f } }]),
            () => scoped.DeleteCollectionAsync("jwt_grpc_a"),
            () => scoped.CreateFullSnapshotAsync(),
        })
        {
            var error = await Assert.ThrowsAsync<global::Grpc.Core.RpcException>(refused);
            Assert.Equal(global::Grpc.Core.StatusCode.PermissionDenied, error.StatusCode);
        }

        using var expired = new Qdrant.Client.QdrantClient("127.0.0.1", fixture.Server.GrpcPort, https: false, apiKey: Token("""{"access":"m","exp":1000000000}"""));
        Assert.Equal(global::Grpc.Core.StatusCode.Unauthenticated, (await Assert.ThrowsAsync<global::Grpc.Core.RpcException>(() => expired.CountAsync("jwt_grpc_a"))).StatusCode);
        using var manager = new Qdrant.Client.QdrantClient("127.0.0.1", fixture.Server.GrpcPort, https: false, apiKey: JwtFixture.Key);
        Assert.Equal(1UL, await manager.CountAsync("jwt_grpc_b"));
    }

    private async Task<string> RawAsync(string method, string path, string body, string key)
    {
        using var socket = new System.Net.Sockets.TcpClient();
        await socket.ConnectAsync(fixture.Server.BaseAddress.Host, fixture.Server.BaseAddress.Port);
        var stream = socket.GetStream();
        var bytes = Encoding.UTF8.GetBytes(body);
        var head = $"{method} {path} HTTP/1.1\r\nHost: {fixture.Server.BaseAddress.Authority}\r\napi-key: {key}\r\nContent-Type: application/json\r\nContent-Length: {bytes.Length}\r\nConnection: close\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        await stream.WriteAsync(bytes);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return await reader.ReadToEndAsync();
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
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync("GET", "/collections", null, Token("""{"access":"m"}""", "another-key"))).Status);
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
