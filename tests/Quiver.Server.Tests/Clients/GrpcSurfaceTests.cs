using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Net.Client;
using Quiver.Server.Tests.Infrastructure;

namespace Quiver.Server.Tests.Clients;

/// <summary>
/// Every method of Qdrant's public gRPC services (as the official client package describes them) is bound: it either
/// works (an empty request gets a real answer or a validation error) or says UNIMPLEMENTED naming itself.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class GrpcSurfaceTests(ServerFixture fixture)
{
    /// <summary>The methods Quiver implements; every other one must be an explicit UNIMPLEMENTED.</summary>
    private static readonly HashSet<string> Implemented =
    [
        "qdrant.Qdrant/HealthCheck",
        "qdrant.Collections/Get", "qdrant.Collections/List", "qdrant.Collections/Create", "qdrant.Collections/Update", "qdrant.Collections/Delete",
        "qdrant.Collections/UpdateAliases", "qdrant.Collections/ListCollectionAliases", "qdrant.Collections/ListAliases", "qdrant.Collections/CollectionExists",
        "qdrant.Points/Upsert", "qdrant.Points/Delete", "qdrant.Points/Get", "qdrant.Points/UpdateVectors", "qdrant.Points/DeleteVectors",
        "qdrant.Points/SetPayload", "qdrant.Points/OverwritePayload", "qdrant.Points/DeletePayload", "qdrant.Points/ClearPayload",
        "qdrant.Points/CreateFieldIndex", "qdrant.Points/DeleteFieldIndex", "qdrant.Points/Search", "qdrant.Points/SearchBatch",
        "qdrant.Points/Scroll", "qdrant.Points/Count", "qdrant.Points/UpdateBatch", "qdrant.Points/Query", "qdrant.Points/QueryBatch", "qdrant.Points/Facet",
        "qdrant.Snapshots/Create", "qdrant.Snapshots/List", "qdrant.Snapshots/Delete", "qdrant.Snapshots/CreateFull", "qdrant.Snapshots/ListFull", "qdrant.Snapshots/DeleteFull",
    ];

    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(b => b, b => b);

    [Fact]
    public async Task Every_public_method_is_bound_to_a_handler_or_an_explicit_unimplemented()
    {
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{fixture.Server.GrpcPort}");
        var invoker = channel.CreateCallInvoker();
        var services = new[]
        {
            Qdrant.Client.Grpc.QdrantReflection.Descriptor, Qdrant.Client.Grpc.CollectionsServiceReflection.Descriptor,
            Qdrant.Client.Grpc.PointsServiceReflection.Descriptor, Qdrant.Client.Grpc.SnapshotsServiceReflection.Descriptor,
        }.Select(f => f.Services.Single());
        var seen = new List<string>();
        foreach (var method in services.SelectMany(s => s.Methods))
        {
            var name = $"{method.Service.FullName}/{method.Name}";
            seen.Add(name);
            var status = await CallEmptyAsync(invoker, method);
            if (Implemented.Contains(name))
                Assert.True(status.StatusCode != StatusCode.Unimplemented, $"{name}: {status}");
            else
            {
                Assert.True(status.StatusCode == StatusCode.Unimplemented, $"{name}: {status}");
                Assert.Contains($"{method.Service.Name}.{method.Name} is not implemented by Quiver yet", status.Detail, StringComparison.Ordinal);
            }
        }

        Assert.Subset(seen.ToHashSet(), Implemented);
        Assert.True(seen.Count - Implemented.Count >= 15, $"{seen.Count} methods, {Implemented.Count} implemented");

        // The calls are counted in telemetry, by method and gRPC status.
        var telemetry = (await fixture.Client.GetAsync("/telemetry")).EnsureOk().Result["requests"]!["grpc"]!["responses"]!;
        Assert.True(telemetry["/qdrant.Points/Recommend"]?["12"]?["count"]?.GetValue<long>() >= 1, telemetry.ToJsonString());
        Assert.True(telemetry["/qdrant.Qdrant/HealthCheck"]?["0"]?["count"]?.GetValue<long>() >= 1, telemetry.ToJsonString());
        // And in the metrics, per method.
        var metrics = (await fixture.Client.GetAsync("/metrics")).Text;
        Assert.Contains("http_route=\"/qdrant.Points/Query\"", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Each_api_stays_on_its_port_whatever_host_name_the_client_uses()
    {
        // A proxy or a port mapping changes the Host header; the gRPC port still serves gRPC.
        using var handler = new HostRewriter(new SocketsHttpHandler());
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{fixture.Server.GrpcPort}", new GrpcChannelOptions { HttpHandler = handler });
        var health = await new Qdrant.Client.Grpc.Qdrant.QdrantClient(channel).HealthCheckAsync(new Qdrant.Client.Grpc.HealthCheckRequest());
        Assert.Equal("quiver - vector search engine", health.Title);

        // REST over HTTP/2 on the gRPC port is not served.
        using var h2 = new HttpClient { DefaultRequestVersion = System.Net.HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using var response = await h2.GetAsync(new Uri($"http://127.0.0.1:{fixture.Server.GrpcPort}/collections"));
        Assert.Equal("12", response.Headers.TryGetValues("grpc-status", out var status) ? status.Single() : null);

        // gRPC methods are not served on the REST port.
        using var rest = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(fixture.Server.BaseAddress, "/qdrant.Qdrant/HealthCheck")) { Content = new ByteArrayContent([0, 0, 0, 0, 0]) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/grpc");
        using var refused = await rest.SendAsync(request);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, refused.StatusCode);
    }

    private sealed class HostRewriter(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Headers.Host = "quiver.example.com:443";
            return base.SendAsync(request, cancellationToken);
        }
    }

    private static async Task<Status> CallEmptyAsync(CallInvoker invoker, MethodDescriptor method)
    {
        var call = new Method<byte[], byte[]>(MethodType.Unary, method.Service.FullName, method.Name, Bytes, Bytes);
        try
        {
            await invoker.AsyncUnaryCall(call, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(30)), []);
            return Status.DefaultSuccess;
        }
        catch (RpcException ex)
        {
            return ex.Status;
        }
    }
}
