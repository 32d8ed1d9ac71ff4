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
        "qdrant.Points/Scroll", "qdrant.Points/Count", "qdrant.Points/UpdateBatch", "qdrant.Points/Query", "qdrant.Points/QueryBatch",
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
