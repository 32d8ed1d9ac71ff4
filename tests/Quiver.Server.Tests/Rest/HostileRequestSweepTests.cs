using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Quiver.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Quiver.Server.Tests.Rest;

/// <summary>
/// More than a thousand generated malformed or hostile requests (broken JSON, wrong kinds, overflowing numbers,
/// deep nesting, giant bodies, invalid UTF-8, hostile names and query strings) across every endpoint: never a 5xx,
/// never a crash, never a write accepted from a broken request, and the data exactly as before.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class HostileRequestSweepTests(ServerFixture fixture, ITestOutputHelper output)
{
    private const int Seed = 20261126;

    /// <summary>Kinds a value is swapped for: never the kind it had, so a write never becomes a different valid write.</summary>
    private static readonly string[] StringKinds = ["\"\"", "\"x\"", "\"\\u0000\"", "\"../../etc/passwd\"", "\"" + new string('a', 5000) + "\""];
    private static readonly string[] NumberKinds = ["1e400", "-1e400", "1e99999", "18446744073709551616", "-9223372036854775809", "0.5e-400000"];
    private static readonly string[] OtherKinds = ["true", "null", "[]", "{}", "[[[]]]", "{\"a\":{\"b\":[{}]}}"];

    [Fact]
    public async Task A_thousand_hostile_requests_get_4xx_and_change_nothing()
    {
        var client = fixture.Client;
        var c = ServerFixture.UniqueName("sweep");
        (await client.PutAsync($"/collections/{c}", """{"vectors":{"size":4,"distance":"Cosine"}}""")).EnsureOk();
        var points = string.Join(",", Enumerable.Range(1, 20).Select(i => $$$"""{"id":{{{i}}},"vector":[{{{i}}},1,0.5,-1],"payload":{"city":"c{{{i % 3}}}","n":{{{i}}}}}"""));
        (await client.PutAsync($"/collections/{c}/points?wait=true", $$"""{"points":[{{points}}]}""")).EnsureOk();
        (await client.PutAsync($"/collections/{c}/index?wait=true", """{"field_name":"city","field_schema":"keyword"}""")).EnsureOk();
        var before = await StateAsync(client, c);

        var requests = Generate(c).ToList();
        Assert.True(requests.Count >= 1000, $"only {requests.Count} requests generated");
        var statuses = new Dictionary<int, int>();
        using var http = new HttpClient { BaseAddress = fixture.Server.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        foreach (var (method, path, body, write, label) in requests)
        {
            var (status, text) = await SendAsync(http, method, path, body);
            statuses[status] = statuses.GetValueOrDefault(status) + 1;
            Assert.True(status < 500, $"{label}: {method} {Shorten(path)} -> {status} {Shorten(text)}");
            if (write)
                Assert.True(status >= 400, $"{label}: a broken write was accepted: {method} {Shorten(path)} {Shorten(Encoding.UTF8.GetString(body ?? []))} -> {status} {Shorten(text)}");
            Assert.False(fixture.Server.HasExited, $"the server exited after {label}");
        }

        output.WriteLine($"{requests.Count} requests; statuses: {string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key} x{s.Value}"))}");
        Assert.Equal(before, await StateAsync(client, c));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/readyz")).Status);
        // Most were refused as bad input; a few reads of valid shapes with odd values may still answer 200.
        Assert.True(statuses.Where(s => s.Key is >= 400 and < 500).Sum(s => s.Value) >= requests.Count * 0.9, string.Join(", ", statuses.Select(s => $"{s.Key}: {s.Value}")));
    }

    [Fact]
    public async Task Dot_segments_and_trailing_slashes_never_reach_the_enclosing_resource()
    {
        var client = fixture.Client;
        var c = ServerFixture.UniqueName("dots");
        (await client.PutAsync($"/collections/{c}", """{"vectors":{"size":2,"distance":"Dot"}}""")).EnsureOk();
        // Sent over a raw socket: HttpClient would resolve the dot segments itself.
        foreach (var target in new[] { $"/collections/{c}/index/%2e%2e", $"/collections/{c}/index/..", $"/collections/{c}/index/.%2E", $"/collections/{c}/points/%2e/../.." })
            Assert.StartsWith("HTTP/1.1 400", await RawAsync("DELETE", target), StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 404", await RawAsync("DELETE", $"/collections/{c}/"), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/collections/{c}")).Status);
        // Names that merely contain dots are names.
        Assert.StartsWith("HTTP/1.1 404", await RawAsync("GET", "/collections/a..b"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bodies_that_are_not_json_typed_are_refused_so_cross_site_forms_cannot_write()
    {
        var client = fixture.Client;
        var c = ServerFixture.UniqueName("ctype");
        (await client.PutAsync($"/collections/{c}", """{"vectors":{"size":2,"distance":"Dot"}}""")).EnsureOk();
        (await client.PutAsync($"/collections/{c}/points?wait=true", """{"points":[{"id":1,"vector":[1,0]}]}""")).EnsureOk();
        using var http = new HttpClient { BaseAddress = fixture.Server.BaseAddress };
        foreach (var type in new[] { "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", null })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"/collections/{c}/points/delete?wait=true", UriKind.Relative))
            {
                Content = new ByteArrayContent(Encoding.UTF8.GetBytes("""{"points":[1]}""")),
            };
            if (type is not null)
                request.Content.Headers.TryAddWithoutValidation("Content-Type", type);
            using var response = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains("Content type error", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Contains("\"count\":1", (await client.PostAsync($"/collections/{c}/points/count", """{"exact":true}""")).Text, StringComparison.Ordinal);
        // JSON with a charset, or a +json type, is JSON.
        (await client.SendAsync(HttpMethod.Post, $"/collections/{c}/points/count", """{"exact":true}""")).EnsureOk();
    }

    private async Task<string> RawAsync(string method, string target)
    {
        using var socket = new System.Net.Sockets.TcpClient();
        await socket.ConnectAsync(fixture.Server.BaseAddress.Host, fixture.Server.BaseAddress.Port);
        var stream = socket.GetStream();
        var request = $"{method} {target} HTTP/1.1\r\nHost: {fixture.Server.BaseAddress.Authority}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return await reader.ReadToEndAsync();
    }

    /// <summary>Every endpoint with a valid body; writes are marked (a broken write must be refused).</summary>
    private static (string Method, string Path, string Body, bool Write)[] Endpoints(string c) =>
    [
        ("PUT", "/collections/sweep_new_collection", """{"vectors":{"size":4,"distance":"Dot"},"hnsw_config":{"m":8}}""", true),
        ("PATCH", $"/collections/{c}", """{"optimizers_config":{"indexing_threshold":20000}}""", true),
        ("POST", "/collections/aliases", $$$"""{"actions":[{"create_alias":{"collection_name":"{{{c}}}","alias_name":"sweep_alias"}}]}""", true),
        ("PUT", $"/collections/{c}/points?wait=true", """{"points":[{"id":101,"vector":[1,0,0,0],"payload":{"a":1}}]}""", true),
        ("PUT", $"/collections/{c}/points?wait=true", """{"batch":{"ids":[102],"vectors":[[1,0,0,0]]}}""", true),
        ("POST", $"/collections/{c}/points/delete?wait=true", """{"points":[1,2]}""", true),
        ("POST", $"/collections/{c}/points/payload?wait=true", """{"payload":{"z":1},"points":[1]}""", true),
        ("PUT", $"/collections/{c}/points/payload?wait=true", """{"payload":{"z":1},"points":[1]}""", true),
        ("POST", $"/collections/{c}/points/payload/delete?wait=true", """{"keys":["city"],"points":[1]}""", true),
        ("POST", $"/collections/{c}/points/payload/clear?wait=true", """{"points":[1]}""", true),
        ("PUT", $"/collections/{c}/points/vectors?wait=true", """{"points":[{"id":1,"vector":[0,0,1,0]}]}""", true),
        ("POST", $"/collections/{c}/points/vectors/delete?wait=true", """{"points":[1],"vector":[""]}""", true),
        ("PUT", $"/collections/{c}/index?wait=true", """{"field_name":"n","field_schema":"integer"}""", true),
        ("POST", $"/collections/{c}/points/batch?wait=true", """{"operations":[{"upsert":{"points":[{"id":103,"vector":[1,1,1,1]}]}}]}""", true),
        ("POST", $"/collections/{c}/points", """{"ids":[1,2],"with_payload":true,"with_vector":true}""", false),
        ("POST", $"/collections/{c}/points/scroll", """{"limit":5,"filter":{"must":[{"key":"city","match":{"value":"c1"}}]},"with_payload":true}""", false),
        ("POST", $"/collections/{c}/points/count", """{"exact":true,"filter":{"must":[{"key":"n","range":{"gte":3}}]}}""", false),
        ("POST", $"/collections/{c}/points/query", """{"query":[1,0,0,0],"limit":3,"filter":{"should":[{"key":"city","match":{"any":["c1","c2"]}}]},"params":{"hnsw_ef":16}}""", false),
        ("POST", $"/collections/{c}/points/query/batch", """{"searches":[{"query":[1,0,0,0],"limit":2},{"query":3}]}""", false),
        ("PUT", $"/collections/{c}/snapshots/recover?wait=true", """{"location":"file:///nonexistent/x.snapshot","priority":"snapshot","checksum":null,"api_key":null}""", true),
    ];

    private static IEnumerable<(string Method, string Path, byte[]? Body, bool Write, string Label)> Generate(string c)
    {
        var random = new Random(Seed);
        foreach (var (method, path, body, write) in Endpoints(c))
        {
            var bytes = Encoding.UTF8.GetBytes(body);
            // Broken syntax.
            yield return (method, path, [], write, "empty body");
            foreach (var text in new[] { "null", "[]", "\"text\"", "42", "{", "}", "{\"a\":}", "{\"a\" 1}", "{'a':1}", body + "}", body + "garbage", "\uFEFF" + body[..^1] })
                yield return (method, path, Encoding.UTF8.GetBytes(text), write, "syntax");
            for (var i = 0; i < 8; i++)
            {
                var cut = random.Next(1, bytes.Length - 1);
                yield return (method, path, bytes[..cut], write, $"truncated at {cut}");
                var garbled = (byte[])bytes.Clone();
                const string Breakers = "{}[]\":,\\";
                garbled[random.Next(garbled.Length)] = (byte)Breakers[random.Next(Breakers.Length)];
                if (!IsValidJson(garbled) || !write)
                    yield return (method, path, garbled, write, "garbled");
            }

            // Invalid UTF-8 inside a string, and as the whole body.
            yield return (method, path, [.. Encoding.UTF8.GetBytes("{\"x\":\""), 0xC3, 0x28, 0xFF, .. Encoding.UTF8.GetBytes("\"}")], write, "invalid utf-8 in a string");
            yield return (method, path, [0xFE, 0xFF, 0xC0, 0xAF], write, "invalid utf-8 body");

            // Deep nesting, as the body and inside the request.
            yield return (method, path, Encoding.UTF8.GetBytes(new string('[', 100_000) + new string(']', 100_000)), write, "deep array");
            yield return (method, path, Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("{\"a\":", 5000)) + "1" + new string('}', 5000)), write, "deep object");

            // Every value swapped, one at a time, for values of other kinds (not inside free-form payloads).
            var root = JsonNode.Parse(body)!;
            foreach (var location in Locations(root, ""))
            {
                foreach (var replacement in Kinds(location.Node).OrderBy(_ => random.Next()).Take(4))
                {
                    var copy = JsonNode.Parse(body)!;
                    var mutated = Replace(copy, location.Path, replacement);
                    yield return (method, path, Encoding.UTF8.GetBytes(mutated), write, $"{location.Path} = {Shorten(replacement)}");
                }
            }

            // Hostile query strings: a point write's known parameters are checked (so each of these refuses it); reads
            // get them added, and ignore what they do not use. Collection-level writes take no such parameters.
            if (path.Contains("?wait=true", StringComparison.Ordinal))
            {
                foreach (var query in new[] { "wait=maybe", "wait=", "wait=true&wait=false", "timeout=-1", "timeout=99999999999999999999", "ordering=chaos" })
                    yield return (method, path[..path.IndexOf('?', StringComparison.Ordinal)] + "?" + query, bytes, write, "query " + query);
            }
            else if (!write)
            {
                foreach (var query in new[] { "wait=maybe", "timeout=-1", "timeout=abc", "consistency=%00", "%ZZ=1", "a=%FF" })
                    yield return (method, path + "?" + query, bytes, false, "query " + query);
            }
        }

        // Hostile names in paths.
        // (A literal ".." is resolved by HttpClient itself before sending: /collections/c/index/.. leaves as /collections/c/.)
        foreach (var name in new[] { "..%2F..%2Fetc", "%2e%2e", "%2E", ".%2e", "a%00b", new string('n', 300), "con", "a%20b", "%F0%9F%92%A9", "%FF%FE", "a\\b" })
        {
            yield return ("GET", $"/collections/{name}", null, false, "name " + name);
            yield return ("PUT", $"/collections/{name}", Encoding.UTF8.GetBytes("""{"vectors":{"size":"4","distance":"Dot"}}"""), true, "create " + name);
            yield return ("DELETE", $"/collections/{name}", null, false, "delete " + name);
            yield return ("POST", $"/collections/{name}/points/count", Encoding.UTF8.GetBytes("{}"), false, "count " + name);
            yield return ("DELETE", $"/collections/{c}/index/{name}", null, false, "drop index " + name);
        }

        // Snapshot names that try to leave the snapshots folder, and recovery locations outside it.
        foreach (var name in new[] { "..%2F..%2Fcollections%2Fsweep.snapshot", "..%2F..%2Fetc%2Fpasswd", "%2e%2e%2F%2e%2e%2Faliases.qal", "x.snapshot%00.txt", ".hidden.snapshot",
            "..%5C..%5Cx.snapshot", "%2Fetc%2Fpasswd", "a%2Fb.snapshot", "sweep.snapshot.checksum", new string('s', 300) + ".snapshot", "%2e%2e.snapshot" })
        {
            yield return ("GET", $"/collections/{c}/snapshots/{name}", null, false, "snapshot " + name);
            yield return ("DELETE", $"/collections/{c}/snapshots/{name}", null, true, "delete snapshot " + name);
            yield return ("GET", $"/snapshots/{name}", null, false, "full snapshot " + name);
            yield return ("DELETE", $"/snapshots/{name}", null, true, "delete full snapshot " + name);
            yield return ("GET", $"/collections/{name}/snapshots", null, false, "snapshots of " + name);
        }

        foreach (var location in new[] { "file:///etc/passwd", "file:///../../etc/passwd", "file://localhost/etc/shadow", "file:///proc/self/environ", "http://127.0.0.1:1/x.snapshot",
            "ftp://example/x.snapshot", "javascript:alert(1)", "x.snapshot", "/etc/passwd", "file:///%2e%2e/%2e%2e/etc/passwd" })
        {
            yield return ("PUT", $"/collections/{c}/snapshots/recover", Encoding.UTF8.GetBytes(new JsonObject { ["location"] = location }.ToJsonString()), true, "recover from " + location);
        }

        foreach (var (type, body) in new[] { ("application/json", "{}"), ("multipart/form-data", "x"), ("multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n--b--\r\n"),
            ("multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"snapshot\"; filename=\"a\"\r\n\r\nnot a snapshot\r\n--b--\r\n"), ("multipart/form-data; boundary=b", "--b\r\ngarbage") })
        {
            yield return ("POST", $"/collections/{c}/snapshots/upload?content-type={Uri.EscapeDataString(type)}", Encoding.UTF8.GetBytes(body), true, "upload as " + type);
        }

        foreach (var id in new[] { "abc", "-1", "1e5", "99999999999999999999", "%00", "00000000-0000-0000-0000-00000000000g", "1.5" })
            yield return ("GET", $"/collections/{c}/points/{id}", null, false, "point id " + id);

        // Giant bodies: larger than the server's limit (4 MB in this fixture).
        var giant = new byte[5 * 1024 * 1024];
        Array.Fill(giant, (byte)' ');
        giant[0] = (byte)'{';
        giant[^1] = (byte)'}';
        yield return ("PUT", $"/collections/{c}/points?wait=true", giant, true, "giant body");
        yield return ("POST", $"/collections/{c}/points/query", giant, false, "giant query");
    }

    private static IEnumerable<string> Kinds(JsonNode? node) => node?.GetValueKind() switch
    {
        System.Text.Json.JsonValueKind.String => [.. NumberKinds, .. OtherKinds],
        System.Text.Json.JsonValueKind.Number => [.. StringKinds, .. NumberKinds.Take(3), .. OtherKinds.Where(k => k != "null")],
        System.Text.Json.JsonValueKind.Array => [.. StringKinds.Take(3), .. NumberKinds.Take(2), "true", "{}", "{\"a\":1}"],
        System.Text.Json.JsonValueKind.Object => [.. StringKinds.Take(3), .. NumberKinds.Take(2), "true", "[1]", "[{}]"],
        _ => [.. StringKinds.Take(2), .. NumberKinds.Take(2), "[]", "{}"],
    };

    /// <summary>Every value's location, depth first; payload objects are free-form, so their insides are left alone.</summary>
    private static IEnumerable<(string Path, JsonNode? Node)> Locations(JsonNode? node, string path)
    {
        if (path.Length > 0)
            yield return (path, node);
        if (path.EndsWith("/payload", StringComparison.Ordinal))
            yield break;
        switch (node)
        {
            case JsonObject o:
                foreach (var (key, child) in o.ToList())
                {
                    foreach (var inner in Locations(child, path + "/" + key))
                        yield return inner;
                }

                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    foreach (var inner in Locations(a[i], path + "/" + i))
                        yield return inner;
                }

                break;
        }
    }

    /// <summary>The document with the value at <paramref name="path"/> replaced by raw JSON text (which may not parse as a node).</summary>
    private static string Replace(JsonNode root, string path, string raw)
    {
        const string Marker = "\"__sweep_marker__\"";
        var steps = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var parent = root;
        foreach (var step in steps[..^1])
            parent = parent is JsonArray a ? a[int.Parse(step, System.Globalization.CultureInfo.InvariantCulture)]! : parent[step]!;
        var last = steps[^1];
        if (parent is JsonArray array)
            array[int.Parse(last, System.Globalization.CultureInfo.InvariantCulture)] = JsonValue.Create("__sweep_marker__");
        else
            parent[last] = JsonValue.Create("__sweep_marker__");
        return root.ToJsonString().Replace(Marker, raw, StringComparison.Ordinal);
    }

    private static bool IsValidJson(byte[] bytes)
    {
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(bytes);
            return true;
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }
    }

    private static async Task<string> StateAsync(RestClient client, string c)
    {
        var scroll = await client.PostAsync($"/collections/{c}/points/scroll", """{"limit":1000,"with_payload":true,"with_vector":true}""");
        var info = await client.GetAsync($"/collections/{c}");
        var collections = await client.GetAsync("/collections");
        var aliases = await client.GetAsync("/aliases");
        var snapshots = (await client.GetAsync($"/collections/{c}/snapshots")).Result.ToJsonString() + (await client.GetAsync("/snapshots")).Result.ToJsonString();
        var names = collections.Result["collections"]!.AsArray().Select(n => n!["name"]!.GetValue<string>()).Where(n => n.StartsWith("sweep", StringComparison.Ordinal) || n.Contains("..", StringComparison.Ordinal));
        return scroll.Result.ToJsonString() + info.Result["config"]!.ToJsonString() + info.Result["payload_schema"]!.ToJsonString()
            + string.Join(",", names.Order(StringComparer.Ordinal)) + aliases.Result.ToJsonString() + snapshots;
    }

    private static async Task<(int Status, string Text)> SendAsync(HttpClient http, string method, string path, byte[]? body)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(path, UriKind.Relative));
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            // Uploads name their own content type in the query (the server ignores the parameter).
            var type = path.Contains("?content-type=", StringComparison.Ordinal) ? Uri.UnescapeDataString(path[(path.IndexOf('=', StringComparison.Ordinal) + 1)..]) : "application/json";
            request.Content.Headers.TryAddWithoutValidation("Content-Type", type);
        }

        try
        {
            using var response = await http.SendAsync(request);
            return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
        }
        catch (HttpRequestException) when (body is { Length: > 4 * 1024 * 1024 })
        {
            // The server may close the connection on a body over its limit before reading it all: a refusal.
            return (413, "connection closed on an oversized body");
        }
    }

    private static string Shorten(string text) => text.Length > 200 ? text[..200] + "..." : text;
}
