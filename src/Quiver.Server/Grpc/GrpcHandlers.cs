using System.Diagnostics;
using System.Text.Json.Nodes;
using Google.Protobuf.Reflection;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Qdrant.Client.Grpc;
using Quiver.Engine.Catalog;
using Quiver.Segment.Errors;
using Quiver.Server.Rest;

namespace Quiver.Server.Grpc;

/// <summary>
/// The gRPC methods Quiver implements. Each turns its message into the REST request it means and goes through the
/// same readers and engine calls as the REST endpoint, then answers in the gRPC response message.
/// </summary>
internal sealed partial class GrpcHandlers(CollectionCatalog catalog, Inference.DocumentInference? inference = null)
{
    public Dictionary<string, Action<ServiceMethodProviderContext<QdrantGrpcService>, MethodDescriptor>> All()
    {
        var handlers = new Dictionary<string, Action<ServiceMethodProviderContext<QdrantGrpcService>, MethodDescriptor>>(StringComparer.Ordinal)
        {
            ["qdrant.Qdrant/HealthCheck"] = Bind<HealthCheckRequest, HealthCheckReply>((_, _) => Task.FromResult(new HealthCheckReply
            {
                Title = "quiver - vector search engine",
                Version = ServiceEndpoints.CompatibleQdrantVersion,
            })),
        };
        AddCollections(handlers);
        AddPoints(handlers);
        AddQueries(handlers);
        AddSnapshots(handlers);
        return handlers;
    }

    private Action<ServiceMethodProviderContext<QdrantGrpcService>, MethodDescriptor> Bind<TRequest, TResponse>(Func<TRequest, ServerCallContext, Task<TResponse>> handler)
        where TRequest : class, Google.Protobuf.IMessage<TRequest>, new()
        where TResponse : class, Google.Protobuf.IMessage<TResponse>, new()
        => GrpcBinding.Unary(catalog, handler);

    private void AddCollections(Dictionary<string, Action<ServiceMethodProviderContext<QdrantGrpcService>, MethodDescriptor>> handlers)
    {
        handlers["qdrant.Collections/List"] = Bind<ListCollectionsRequest, ListCollectionsResponse>((_, call) =>
        {
            var started = Stopwatch.GetTimestamp();
            var grant = GrpcAccess.Grant(call);
            var response = new ListCollectionsResponse();
            response.Collections.Add(catalog.CollectionNames.Where(n => grant?.CanRead(n) ?? true).Select(n => new CollectionDescription { Name = n }));
            response.Time = GrpcCalls.Seconds(started);
            return Task.FromResult(response);
        });
        handlers["qdrant.Collections/Get"] = Bind<GetCollectionInfoRequest, GetCollectionInfoResponse>((request, _) =>
        {
            var started = Stopwatch.GetTimestamp();
            var info = GrpcResponses.CollectionInfo(catalog.Get(request.CollectionName));
            return Task.FromResult(new GetCollectionInfoResponse { Result = info, Time = GrpcCalls.Seconds(started) });
        });
        handlers["qdrant.Collections/CollectionExists"] = Bind<CollectionExistsRequest, CollectionExistsResponse>((request, _) =>
            Task.FromResult(new CollectionExistsResponse { Result = new CollectionExists { Exists = catalog.Exists(request.CollectionName) } }));
        handlers["qdrant.Collections/Create"] = Bind<CreateCollection, CollectionOperationResponse>(async (request, call) =>
        {
            var started = Stopwatch.GetTimestamp();
            using var body = GrpcCalls.Body(GrpcRequests.CreateCollection(request));
            await catalog.CreateAsync(request.CollectionName, Engine.Collections.CollectionConfig.FromCreateRequest(body.RootElement), call.CancellationToken).ConfigureAwait(false);
            return new CollectionOperationResponse { Result = true, Time = GrpcCalls.Seconds(started) };
        });
        handlers["qdrant.Collections/Update"] = Bind<UpdateCollection, CollectionOperationResponse>(async (request, call) =>
        {
            var started = Stopwatch.GetTimestamp();
            using var body = GrpcCalls.Body(GrpcRequests.UpdateCollection(request));
            await catalog.UpdateAsync(request.CollectionName, body.RootElement, call.CancellationToken).ConfigureAwait(false);
            return new CollectionOperationResponse { Result = true, Time = GrpcCalls.Seconds(started) };
        });
        handlers["qdrant.Collections/Delete"] = Bind<DeleteCollection, CollectionOperationResponse>(async (request, call) =>
        {
            var started = Stopwatch.GetTimestamp();
            var deleted = await catalog.DeleteAsync(request.CollectionName, call.CancellationToken).ConfigureAwait(false);
            return new CollectionOperationResponse { Result = deleted, Time = GrpcCalls.Seconds(started) };
        });
        handlers["qdrant.Collections/UpdateAliases"] = Bind<ChangeAliases, CollectionOperationResponse>(async (request, call) =>
        {
            var started = Stopwatch.GetTimestamp();
            var actions = request.Actions.Select(a => a.ActionCase switch
            {
                AliasOperations.ActionOneofCase.CreateAlias => (AliasAction)new AliasAction.Create(a.CreateAlias.AliasName, a.CreateAlias.CollectionName),
                AliasOperations.ActionOneofCase.RenameAlias => new AliasAction.Rename(a.RenameAlias.OldAliasName, a.RenameAlias.NewAliasName),
                AliasOperations.ActionOneofCase.DeleteAlias => new AliasAction.Delete(a.DeleteAlias.AliasName),
                _ => throw QuiverException.BadInput("Wrong input: an alias action is empty"),
            }).ToList();
            await catalog.ChangeAliasesAsync(actions, call.CancellationToken).ConfigureAwait(false);
            return new CollectionOperationResponse { Result = true, Time = GrpcCalls.Seconds(started) };
        });
        handlers["qdrant.Collections/ListAliases"] = Bind<ListAliasesRequest, ListAliasesResponse>((_, call) =>
            Task.FromResult(Aliases(call, catalog.Aliases)));
        handlers["qdrant.Collections/ListCollectionAliases"] = Bind<ListCollectionAliasesRequest, ListAliasesResponse>((request, call) =>
        {
            var name = catalog.Get(request.CollectionName).Name;
            return Task.FromResult(Aliases(call, catalog.Aliases.Where(a => a.Value == name)));
        });
    }

    private static ListAliasesResponse Aliases(ServerCallContext call, IEnumerable<KeyValuePair<string, string>> aliases)
    {
        var grant = GrpcAccess.Grant(call);
        var response = new ListAliasesResponse();
        response.Aliases.Add(aliases.Where(a => grant?.CanRead(a.Value) ?? true).OrderBy(a => a.Key, StringComparer.Ordinal)
            .Select(a => new AliasDescription { AliasName = a.Key, CollectionName = a.Value }));
        return response;
    }

    private void AddSnapshots(Dictionary<string, Action<ServiceMethodProviderContext<QdrantGrpcService>, MethodDescriptor>> handlers)
    {
        var store = catalog.Snapshots;
        handlers["qdrant.Snapshots/Create"] = Bind<CreateSnapshotRequest, CreateSnapshotResponse>(async (request, call) =>
        {
            var started = Stopwatch.GetTimestamp();
            var info = await catalog.CreateSnapshotAsync(request.CollectionName, call.CancellationToken).ConfigureAwait(false);
            return new CreateSnapshotResponse { SnapshotDescription = GrpcResponses.Snapshot(info), Time = GrpcCalls.Seconds(started) };
        });
        handlers["qdrant.Snapshots/List"] = Bind<ListSnapshotsRequest, ListSnapshotsResponse>((request, _) =>
        {
            var response = new ListSnapshotsResponse();
            response.SnapshotDescriptions.Add(store.List(catalog.Get(request.CollectionName).Name).Select(GrpcResponses.Snapshot));
            return Task.FromResult(response);
        });
        handlers["qdrant.Snapshots/Delete"] = Bind<DeleteSnapshotRequest, DeleteSnapshotResponse>((request, _) =>
            store.Delete(catalog.Get(request.CollectionName).Name, request.SnapshotName)
                ? Task.FromResult(new DeleteSnapshotResponse())
                : throw QuiverException.NotFound($"Not found: Snapshot {request.SnapshotName} not found"));
        handlers["qdrant.Snapshots/CreateFull"] = Bind<CreateFullSnapshotRequest, CreateSnapshotResponse>(async (_, call) =>
        {
            var started = Stopwatch.GetTimestamp();
            var info = await catalog.CreateFullSnapshotAsync(call.CancellationToken).ConfigureAwait(false);
            return new CreateSnapshotResponse { SnapshotDescription = GrpcResponses.Snapshot(info), Time = GrpcCalls.Seconds(started) };
        });
        handlers["qdrant.Snapshots/ListFull"] = Bind<ListFullSnapshotsRequest, ListSnapshotsResponse>((_, _) =>
        {
            var response = new ListSnapshotsResponse();
            response.SnapshotDescriptions.Add(store.List(null).Select(GrpcResponses.Snapshot));
            return Task.FromResult(response);
        });
        handlers["qdrant.Snapshots/DeleteFull"] = Bind<DeleteFullSnapshotRequest, DeleteSnapshotResponse>((request, _) =>
            store.Delete(null, request.SnapshotName)
                ? Task.FromResult(new DeleteSnapshotResponse())
                : throw QuiverException.NotFound($"Not found: Snapshot {request.SnapshotName} not found"));
    }

    /// <summary>Applies point writes read by the REST batch reader from <c>{"operations":[...]}</c>.</summary>
    private async Task<List<Engine.Query.UpdateResult>> WriteAsync(ServerCallContext call, string collectionName, JsonArray operations, bool wait, ulong? timeout)
    {
        var collection = catalog.Get(collectionName);
        using var body = GrpcCalls.Body(new JsonObject { ["operations"] = operations });
        using var cancellation = GrpcCalls.Cancellation(call, timeout);
        // Documents among the vectors are embedded first, as over REST (after the size check, so an oversized
        // request costs no model time).
        PointEndpoints.CheckBatchSize(call.GetHttpContext(), body.RootElement);
        var documents = inference is null ? null : await inference.ResolveAsync(body.RootElement, Inference.DocumentRole.Stored, cancellation.Token).ConfigureAwait(false);
        var read = PointEndpoints.ReadBatch(body.RootElement, documents);
        PointEndpoints.CheckBatchSize(call.GetHttpContext(), read);
        var results = await collection.ApplyBatchAsync(read, wait, cancellation.Token).ConfigureAwait(false);
        return [.. results];
    }

    private async Task<PointsOperationResponse> WriteOneAsync(ServerCallContext call, string collectionName, string kind, JsonObject operation, bool wait, ulong? timeout)
    {
        var started = Stopwatch.GetTimestamp();
        var results = await WriteAsync(call, collectionName, [new JsonObject { [kind] = operation }], wait, timeout).ConfigureAwait(false);
        return new PointsOperationResponse { Result = GrpcResponses.Update(results[0]), Time = GrpcCalls.Seconds(started) };
    }
}
