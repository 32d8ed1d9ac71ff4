using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging.Abstractions;
using Quiver.Engine.Catalog;
using Quiver.Server.Hosting;
using Quiver.Server.Observability;
using Quiver.Server.Tests.Infrastructure;

namespace Quiver.Server.Tests.Security;

/// <summary>A server started with both keys (from a YAML config file), driven over plain HTTP.</summary>
public sealed class ApiKeyFixture() : ConfiguredServerFixture(
    $"service:\n  api_key: \"{FullKey}\"\n  read_only_api_key: \"{ReadKey}\"\n" +
    // A connector from the config file, so its routes have something to show (its NATS server is absent).
    "connectors:\n  - name: probe\n    kind: nats\n    collection: keyed\n    nats:\n      url: nats://127.0.0.1:9\n      stream: S\n      subject: s.events\n")
{
    public const string FullKey = "full-key-7f3a";
    public const string ReadKey = "read-key-91c2";
}

public sealed class ApiKeyTests(ApiKeyFixture fixture) : IClassFixture<ApiKeyFixture>
{
    private const string C = "keyed";

    /// <summary>Every endpoint the server maps, with a request that reaches it; the route template says which.</summary>
    private static readonly (string Method, string Template, string Path, string? Body, bool Write)[] Endpoints =
    [
        ("GET", "/", "/", null, false),
        ("GET", "/metrics", "/metrics", null, false),
        ("GET", "/telemetry", "/telemetry?details_level=2", null, false),
        ("GET", "/collections", "/collections", null, false),
        ("GET", "/collections/{name}", $"/collections/{C}", null, false),
        ("GET", "/collections/{name}/optimizations", $"/collections/{C}/optimizations", null, false),
        ("GET", "/collections/{name}/exists", $"/collections/{C}/exists", null, false),
        ("GET", "/aliases", "/aliases", null, false),
        ("GET", "/collections/{name}/aliases", $"/collections/{C}/aliases", null, false),
        ("GET", "/cluster", "/cluster", null, false),
        ("GET", "/collections/{name}/cluster", $"/collections/{C}/cluster", null, false),
        ("POST", "/collections/{name}/cluster", $"/collections/{C}/cluster", """{"reshard":{"shard_number":2}}""", true),
        ("DELETE", "/cluster/peer/{peer}", "/cluster/peer/1", null, true),
        ("POST", "/cluster/internal/wait", "/cluster/internal/wait", $$$"""{"collection":"{{{C}}}","shard":0,"sequence":0}""", true),
        ("GET", "/collections/{name}/points/{id}", $"/collections/{C}/points/1", null, false),
        ("POST", "/collections/{name}/points", $"/collections/{C}/points", """{"ids":[1]}""", false),
        ("POST", "/collections/{name}/points/scroll", $"/collections/{C}/points/scroll", "{}", false),
        ("POST", "/collections/{name}/points/count", $"/collections/{C}/points/count", """{"exact":true}""", false),
        ("POST", "/collections/{name}/facet", $"/collections/{C}/facet", """{"key":"a"}""", false),
        ("POST", "/collections/{name}/points/query", $"/collections/{C}/points/query", """{"query":[0.1,0.2],"limit":1}""", false),
        ("POST", "/collections/{name}/points/query/batch", $"/collections/{C}/points/query/batch", """{"searches":[{"query":[0.1,0.2]}]}""", false),
        ("POST", "/collections/{name}/points/query/groups", $"/collections/{C}/points/query/groups", """{"query":[0.1,0.2],"group_by":"a"}""", false),
        ("POST", "/collections/{name}/points/search/matrix/pairs", $"/collections/{C}/points/search/matrix/pairs", """{"sample":2,"limit":1}""", false),
        ("POST", "/collections/{name}/points/search/matrix/offsets", $"/collections/{C}/points/search/matrix/offsets", """{"sample":2,"limit":1}""", false),
        ("PUT", "/collections/{name}", "/collections/keyed_new", """{"vectors":{"size":2,"distance":"Dot"}}""", true),
        ("PATCH", "/collections/{name}", $"/collections/{C}", """{"optimizers_config":{"indexing_threshold":20000}}""", true),
        ("DELETE", "/collections/{name}", $"/collections/{C}", null, true),
        ("POST", "/collections/aliases", "/collections/aliases", """{"actions":[{"create_alias":{"collection_name":"keyed","alias_name":"keyed_alias"}}]}""", true),
        ("PUT", "/collections/{name}/points", $"/collections/{C}/points?wait=true", """{"points":[{"id":9,"vector":[1,1]}]}""", true),
        ("POST", "/collections/{name}/points/delete", $"/collections/{C}/points/delete?wait=true", """{"points":[1]}""", true),
        ("POST", "/collections/{name}/points/payload", $"/collections/{C}/points/payload?wait=true", """{"payload":{"x":1},"points":[1]}""", true),
        ("PUT", "/collections/{name}/points/payload", $"/collections/{C}/points/payload?wait=true", """{"payload":{"x":1},"points":[1]}""", true),
        ("POST", "/collections/{name}/points/payload/delete", $"/collections/{C}/points/payload/delete?wait=true", """{"keys":["a"],"points":[1]}""", true),
        ("POST", "/collections/{name}/points/payload/clear", $"/collections/{C}/points/payload/clear?wait=true", """{"points":[1]}""", true),
        ("PUT", "/collections/{name}/points/vectors", $"/collections/{C}/points/vectors?wait=true", """{"points":[{"id":1,"vector":[2,2]}]}""", true),
        ("POST", "/collections/{name}/points/vectors/delete", $"/collections/{C}/points/vectors/delete?wait=true", """{"points":[1],"vector":[""]}""", true),
        ("PUT", "/collections/{name}/index", $"/collections/{C}/index?wait=true", """{"field_name":"city","field_schema":"keyword"}""", true),
        ("DELETE", "/collections/{name}/index/{field}", $"/collections/{C}/index/city?wait=true", null, true),
        ("POST", "/collections/{name}/points/batch", $"/collections/{C}/points/batch?wait=true", """{"operations":[{"upsert":{"points":[{"id":8,"vector":[1,0]}]}}]}""", true),
        ("GET", "/collections/{name}/snapshots", $"/collections/{C}/snapshots", null, false),
        ("GET", "/collections/{name}/snapshots/{snapshot}", $"/collections/{C}/snapshots/{Snap}", null, false),
        ("POST", "/collections/{name}/snapshots", $"/collections/{C}/snapshots", null, true),
        ("DELETE", "/collections/{name}/snapshots/{snapshot}", $"/collections/{C}/snapshots/{Snap}", null, true),
        ("PUT", "/collections/{name}/snapshots/recover", $"/collections/{C}/snapshots/recover", """{"location":"file:///no/such.snapshot"}""", true),
        ("POST", "/collections/{name}/snapshots/upload", $"/collections/{C}/snapshots/upload", null, true),
        ("GET", "/snapshots", "/snapshots", null, false),
        ("GET", "/snapshots/{snapshot}", $"/snapshots/{FullSnap}", null, false),
        ("POST", "/snapshots", "/snapshots", null, true),
        ("DELETE", "/snapshots/{snapshot}", $"/snapshots/{FullSnap}", null, true),
        ("GET", "/quiver/connectors", "/quiver/connectors", null, false),
        ("GET", "/quiver/connectors/{connector}", "/quiver/connectors/probe", null, false),
        ("PUT", "/quiver/connectors/{connector}", "/quiver/connectors/other", """{"kind":"nats","collection":"keyed","nats":{"stream":"S","subject":"x"}}""", true),
        ("DELETE", "/quiver/connectors/{connector}", "/quiver/connectors/probe", null, true),
        ("POST", "/quiver/connectors/{connector}/pause", "/quiver/connectors/probe/pause", null, true),
        ("POST", "/quiver/connectors/{connector}/resume", "/quiver/connectors/probe/resume", null, true),
    ];

    /// <summary>Stand-ins for the names of the snapshots the test takes first (names carry their time).</summary>
    private const string Snap = "SNAP";
    private const string FullSnap = "FULLSNAP";

    [Fact]
    public void The_table_covers_every_endpoint_the_server_maps()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Services.AddQuiverMetrics();
        using var temp = new TempDir();
        using var catalog = new CatalogHandle(CollectionCatalog.Open(new CatalogOptions { StoragePath = temp.Path }, NullLogger.Instance));
        var app = builder.Build();
        QuiverServer.MapApi(app, catalog.Catalog, new Quiver.Server.Inference.DocumentInference(new Quiver.Inference.InferenceModels()));
        var mapped = ((IEndpointRouteBuilder)app).DataSources.SelectMany(d => d.Endpoints).OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText is { } raw && !raw.Contains("*path", StringComparison.Ordinal))
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(m => $"{m} {e.RoutePattern.RawText}"))
            .ToHashSet();
        var listed = Endpoints.Select(e => $"{e.Method} {e.Template}").Concat(["GET /healthz", "GET /livez", "GET /readyz"]).ToHashSet();
        Assert.Equal(listed.Order(), mapped.Order());
    }

    [Fact]
    public async Task Keys_guard_every_endpoint_and_the_read_only_key_never_writes()
    {
        using var http = new HttpClient { BaseAddress = fixture.Server.BaseAddress };
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync("PUT", $"/collections/{C}", """{"vectors":{"size":2,"distance":"Dot"}}""", ApiKeyFixture.FullKey)).Status);
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync("PUT", $"/collections/{C}/points?wait=true", """{"points":[{"id":1,"vector":[0.5,0.5],"payload":{"a":1}},{"id":2,"vector":[0.1,0.9]}]}""", ApiKeyFixture.FullKey)).Status);
        // Facets count from an index.
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync("PUT", $"/collections/{C}/index?wait=true", """{"field_name":"a","field_schema":"integer"}""", ApiKeyFixture.FullKey)).Status);
        var snap = NameOf(await http.SendAsync("POST", $"/collections/{C}/snapshots", null, ApiKeyFixture.FullKey));
        var fullSnap = NameOf(await http.SendAsync("POST", "/snapshots", null, ApiKeyFixture.FullKey));
        var before = await SnapshotAsync(http);

        foreach (var probe in new[] { "/healthz", "/livez", "/readyz" })
            Assert.Equal(HttpStatusCode.OK, (await http.SendAsync("GET", probe, null, null)).Status);

        foreach (var (method, _, template, body, write) in Endpoints)
        {
            var path = template.Replace(FullSnap, fullSnap, StringComparison.Ordinal).Replace(Snap, snap, StringComparison.Ordinal);
            var none = await http.SendAsync(method, path, body, null);
            Assert.True(none.Status == HttpStatusCode.Unauthorized, $"{method} {path} without a key: {(int)none.Status} {none.Text}");
            Assert.Contains("API key", none.Text, StringComparison.Ordinal);
            var wrong = await http.SendAsync(method, path, body, "not-the-key");
            Assert.True(wrong.Status == HttpStatusCode.Unauthorized, $"{method} {path} with a wrong key: {(int)wrong.Status}");
            var wrongBearer = await http.SendAsync(method, path, body, "not-the-key", bearer: true);
            Assert.True(wrongBearer.Status == HttpStatusCode.Unauthorized, $"{method} {path} with a wrong bearer token: {(int)wrongBearer.Status}");
            var readOnly = await http.SendAsync(method, path, body, ApiKeyFixture.ReadKey, bearer: method == "POST");
            if (write)
                Assert.True(readOnly.Status == HttpStatusCode.Forbidden, $"{method} {path} with the read-only key: {(int)readOnly.Status} {readOnly.Text}");
            else
                Assert.True(readOnly.Status == HttpStatusCode.OK, $"{method} {path} with the read-only key: {(int)readOnly.Status} {readOnly.Text}");
        }

        // Nothing the refused requests tried has happened.
        Assert.Equal(before, await SnapshotAsync(http));
        Assert.Equal(HttpStatusCode.NotFound, (await http.SendAsync("GET", "/collections/keyed_new", null, ApiKeyFixture.FullKey)).Status);

        // The full key writes, through either header.
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync("PUT", $"/collections/{C}/points?wait=true", """{"points":[{"id":3,"vector":[1,0]}]}""", ApiKeyFixture.FullKey, bearer: true)).Status);
        Assert.Contains("\"count\":3", (await http.SendAsync("POST", $"/collections/{C}/points/count", """{"exact":true}""", ApiKeyFixture.ReadKey)).Text, StringComparison.Ordinal);
        // A connector from the config file is changed there, not over the API, even with the full key.
        Assert.Equal(HttpStatusCode.Conflict, (await http.SendAsync("DELETE", "/quiver/connectors/probe", null, ApiKeyFixture.FullKey)).Status);
        Assert.Equal(HttpStatusCode.Conflict, (await http.SendAsync("PUT", "/quiver/connectors/probe", """{"kind":"nats","collection":"keyed","nats":{"stream":"S","subject":"x"}}""", ApiKeyFixture.FullKey)).Status);
        Assert.Contains("\"defined_in\":\"config\"", (await http.SendAsync("GET", "/quiver/connectors/probe", null, ApiKeyFixture.ReadKey)).Text, StringComparison.Ordinal);
        // An unknown path needs a key like any other, then is a 404.
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync("GET", "/no/such/path", null, null)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await http.SendAsync("GET", "/no/such/path", null, ApiKeyFixture.ReadKey)).Status);
    }

    [Fact]
    public async Task Keys_guard_grpc_too_and_the_read_only_key_only_reads()
    {
        const string Name = "keyed_grpc";
        using (var full = new Qdrant.Client.QdrantClient("127.0.0.1", fixture.Server.GrpcPort, https: false, apiKey: ApiKeyFixture.FullKey))
        {
            await full.CreateCollectionAsync(Name, new Qdrant.Client.Grpc.VectorParams { Size = 2, Distance = Qdrant.Client.Grpc.Distance.Dot });
            await full.UpsertAsync(Name, [new Qdrant.Client.Grpc.PointStruct { Id = 1, Vectors = new[] { 1f, 0f } }]);
        }

        foreach (var key in new string?[] { null, "not-the-key" })
        {
            using var client = new Qdrant.Client.QdrantClient("127.0.0.1", fixture.Server.GrpcPort, https: false, apiKey: key);
            var refused = await Assert.ThrowsAsync<global::Grpc.Core.RpcException>(() => client.CountAsync(Name));
            Assert.Equal(global::Grpc.Core.StatusCode.Unauthenticated, refused.StatusCode);
            refused = await Assert.ThrowsAsync<global::Grpc.Core.RpcException>(() => client.UpsertAsync(Name, [new Qdrant.Client.Grpc.PointStruct { Id = 2, Vectors = new[] { 0f, 1f } }]));
            Assert.Equal(global::Grpc.Core.StatusCode.Unauthenticated, refused.StatusCode);
        }

        using var reader = new Qdrant.Client.QdrantClient("127.0.0.1", fixture.Server.GrpcPort, https: false, apiKey: ApiKeyFixture.ReadKey);
        Assert.Equal(1UL, await reader.CountAsync(Name));
        Assert.Contains(Name, await reader.ListCollectionsAsync());
        Assert.Single(await reader.QueryAsync(Name, query: new[] { 1f, 0f }));
        Assert.Single(await reader.RetrieveAsync(Name, 1UL));
        var writes = new Func<Task>[]
        {
            () => reader.UpsertAsync(Name, [new Qdrant.Client.Grpc.PointStruct { Id = 2, Vectors = new[] { 0f, 1f } }]),
            () => reader.DeleteAsync(Name, 1UL),
            () => reader.SetPayloadAsync(Name, new Dictionary<string, Qdrant.Client.Grpc.Value> { ["a"] = 1 }, 1UL),
            () => reader.CreatePayloadIndexAsync(Name, "a"),
            () => reader.CreateSnapshotAsync(Name),
            () => reader.CreateCollectionAsync("keyed_grpc_new", new Qdrant.Client.Grpc.VectorParams { Size = 2, Distance = Qdrant.Client.Grpc.Distance.Dot }),
            () => reader.DeleteCollectionAsync(Name),
        };
        foreach (var write in writes)
        {
            var refused = await Assert.ThrowsAsync<global::Grpc.Core.RpcException>(write);
            Assert.Equal(global::Grpc.Core.StatusCode.PermissionDenied, refused.StatusCode);
        }

        Assert.Equal(1UL, await reader.CountAsync(Name));
        Assert.Empty(await reader.ListSnapshotsAsync(Name));
        Assert.False(await reader.CollectionExistsAsync("keyed_grpc_new"));

        // A REST request that calls itself gRPC (by its content type) is still held to the REST checks.
        using var http = new HttpClient { BaseAddress = fixture.Server.BaseAddress };
        foreach (var (method, path, type) in new[] { ("DELETE", $"/collections/{Name}", "application/grpc"), ("PUT", $"/collections/{Name}/points?wait=true", "application/grpc+json") })
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(path, UriKind.Relative));
            request.Headers.Add("api-key", ApiKeyFixture.ReadKey);
            request.Content = new StringContent("""{"points":[{"id":5,"vector":[1,1]}]}""");
            request.Content.Headers.ContentType = null;
            request.Content.Headers.TryAddWithoutValidation("Content-Type", type);
            using var response = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }

        Assert.Equal(1UL, await reader.CountAsync(Name));
    }

    private static async Task<string> SnapshotAsync(HttpClient http)
    {
        // Points with payloads and vectors, the collection's config and payload schema, and the aliases.
        var scroll = await http.SendAsync("POST", $"/collections/{C}/points/scroll", """{"with_payload":true,"with_vector":true}""", ApiKeyFixture.FullKey);
        var info = await http.SendAsync("GET", $"/collections/{C}", null, ApiKeyFixture.FullKey);
        var aliases = await http.SendAsync("GET", "/aliases", null, ApiKeyFixture.FullKey);
        var snapshots = await http.SendAsync("GET", $"/collections/{C}/snapshots", null, ApiKeyFixture.FullKey);
        var fullSnapshots = await http.SendAsync("GET", "/snapshots", null, ApiKeyFixture.FullKey);
        var connectors = await http.SendAsync("GET", "/quiver/connectors", null, ApiKeyFixture.FullKey);
        string Result(string text) => System.Text.Json.Nodes.JsonNode.Parse(text)?["result"]?.ToJsonString() ?? text;
        var collection = System.Text.Json.Nodes.JsonNode.Parse(info.Text)?["result"];
        return Result(scroll.Text) + collection?["config"]?.ToJsonString() + collection?["payload_schema"]?.ToJsonString() + Result(aliases.Text)
            + Result(snapshots.Text) + Result(fullSnapshots.Text)
            + string.Join(',', System.Text.Json.Nodes.JsonNode.Parse(connectors.Text)!["result"]!.AsArray().Select(c => $"{c!["name"]}:{c["paused"]}"));
    }

    private static string NameOf((HttpStatusCode Status, string Text) created)
    {
        Assert.True(created.Status == HttpStatusCode.OK, created.Text);
        return System.Text.Json.Nodes.JsonNode.Parse(created.Text)!["result"]!["name"]!.GetValue<string>();
    }


    private sealed class TempDir : IDisposable
    {
        public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "quiver-routes-" + Guid.NewGuid().ToString("N"));

        public void Dispose()
        {
            if (Directory.Exists(Path))
                Directory.Delete(Path, recursive: true);
        }
    }

    private sealed class CatalogHandle(CollectionCatalog catalog) : IDisposable
    {
        public CollectionCatalog Catalog => catalog;

        public void Dispose() => catalog.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }
}
