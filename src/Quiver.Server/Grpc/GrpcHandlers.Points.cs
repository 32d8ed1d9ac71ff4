using System.Diagnostics;
using System.Text.Json.Nodes;
using Google.Protobuf.Reflection;
using Grpc.AspNetCore.Server.Model;
using Qdrant.Client.Grpc;
using Quiver.Segment.Errors;
using Quiver.Server.Rest;

namespace Quiver.Server.Grpc;

internal sealed partial class GrpcHandlers
{
    private void AddPoints(Dictionary<string, Action<ServiceMethodProviderContext<QdrantGrpcService>, MethodDescriptor>> handlers)
    {
        handlers["qdrant.Points/Upsert"] = Bind<UpsertPoints, PointsOperationResponse>((r, call) =>
            WriteOneAsync(call, r.CollectionName, "upsert", Upsert(r.Points, r.UpdateFilter, r.HasUpdateMode && r.UpdateMode != UpdateMode.Upsert), r.Wait, r.HasTimeout ? r.Timeout : null));
        handlers["qdrant.Points/Delete"] = Bind<Qdrant.Client.Grpc.DeletePoints, PointsOperationResponse>((r, call) =>
            WriteOneAsync(call, r.CollectionName, "delete", Selected(r.Points), r.Wait, r.HasTimeout ? r.Timeout : null));
        handlers["qdrant.Points/SetPayload"] = Bind<SetPayloadPoints, PointsOperationResponse>((r, call) =>
            WriteOneAsync(call, r.CollectionName, "set_payload", Payload(r.Payload, r.PointsSelector, r.HasKey ? r.Key : null), r.Wait, r.HasTimeout ? r.Timeout : null));
        handlers["qdrant.Points/OverwritePayload"] = Bind<SetPayloadPoints, PointsOperationResponse>((r, call) =>
            WriteOneAsync(call, r.CollectionName, "overwrite_payload", Payload(r.Payload, r.PointsSelector, r.HasKey ? r.Key : null), r.Wait, r.HasTimeout ? r.Timeout : null));
        handlers["qdrant.Points/DeletePayload"] = Bind<DeletePayloadPoints, PointsOperationResponse>((r, call) =>
            WriteOneAsync(call, r.CollectionName, "delete_payload", Keys(r.Keys, r.PointsSelector), r.Wait, r.HasTimeout ? r.Timeout : null));
        handlers["qdrant.Points/ClearPayload"] = Bind<ClearPayloadPoints, PointsOperationResponse>((r, call) =>
            WriteOneAsync(call, r.CollectionName, "clear_payload", Selected(r.Points), r.Wait, r.HasTimeout ? r.Timeout : null));
        handlers["qdrant.Points/UpdateVectors"] = Bind<UpdatePointVectors, PointsOperationResponse>((r, call) =>
            WriteOneAsync(call, r.CollectionName, "update_vectors", VectorUpdates(r.Points, r.UpdateFilter), r.Wait, r.HasTimeout ? r.Timeout : null));
        handlers["qdrant.Points/DeleteVectors"] = Bind<DeletePointVectors, PointsOperationResponse>((r, call) =>
            WriteOneAsync(call, r.CollectionName, "delete_vectors", VectorDeletes(r.PointsSelector, r.Vectors), r.Wait, r.HasTimeout ? r.Timeout : null));
        handlers["qdrant.Points/UpdateBatch"] = Bind<UpdateBatchPoints, UpdateBatchResponse>(async (r, call) =>
        {
            var started = Stopwatch.GetTimestamp();
            var results = await WriteAsync(call, r.CollectionName, [.. r.Operations.Select(BatchOperation)], r.Wait, r.HasTimeout ? r.Timeout : null).ConfigureAwait(false);
            var response = new UpdateBatchResponse { Time = GrpcCalls.Seconds(started) };
            response.Result.Add(results.Select(GrpcResponses.Update));
            return response;
        });
        handlers["qdrant.Points/CreateFieldIndex"] = Bind<CreateFieldIndexCollection, PointsOperationResponse>(async (r, call) =>
        {
            var started = Stopwatch.GetTimestamp();
            using var body = GrpcCalls.Body(new JsonObject { ["field_name"] = r.FieldName, ["field_schema"] = FieldSchema(r) });
            var operation = PointEndpoints.ReadCreateIndex(body.RootElement);
            using var cancellation = GrpcCalls.Cancellation(call, r.HasTimeout ? r.Timeout : null);
            var result = await catalog.Get(r.CollectionName).ApplyAsync(operation, r.Wait, cancellation.Token).ConfigureAwait(false);
            return new PointsOperationResponse { Result = GrpcResponses.Update(result), Time = GrpcCalls.Seconds(started) };
        });
        handlers["qdrant.Points/DeleteFieldIndex"] = Bind<DeleteFieldIndexCollection, PointsOperationResponse>(async (r, call) =>
        {
            var started = Stopwatch.GetTimestamp();
            using var cancellation = GrpcCalls.Cancellation(call, r.HasTimeout ? r.Timeout : null);
            var result = await catalog.Get(r.CollectionName).ApplyAsync(new Engine.Operations.DeleteFieldIndex(r.FieldName), r.Wait, cancellation.Token).ConfigureAwait(false);
            return new PointsOperationResponse { Result = GrpcResponses.Update(result), Time = GrpcCalls.Seconds(started) };
        });
    }

    /// <summary>Conditional writes are refused rather than done unconditionally (the engine has no update filter yet).</summary>
    private static void Unconditional(Filter? updateFilter, bool otherMode)
    {
        if (updateFilter is not null)
            throw QuiverException.BadInput("Wrong input: update_filter is not supported yet");
        if (otherMode)
            throw QuiverException.BadInput("Wrong input: update_mode other than upsert is not supported yet");
    }

    private static JsonObject Upsert(IEnumerable<PointStruct> points, Filter? updateFilter = null, bool otherMode = false)
    {
        Unconditional(updateFilter, otherMode);
        return new() { ["points"] = new JsonArray([.. points.Select(p => (JsonNode)GrpcRequests.Point(p))]) };
    }

    private static JsonObject Selected(PointsSelector? selector)
    {
        var json = new JsonObject();
        GrpcRequests.Selector(selector, json);
        return json;
    }

    private static JsonObject Payload(Google.Protobuf.Collections.MapField<string, Value> payload, PointsSelector? selector, string? key)
    {
        var json = Selected(selector);
        json["payload"] = ProtoJson.FromPayload(payload);
        if (key is not null)
            json["key"] = key;
        return json;
    }

    private static JsonObject Keys(IEnumerable<string> keys, PointsSelector? selector)
    {
        var json = Selected(selector);
        json["keys"] = new JsonArray([.. keys.Select(k => (JsonNode)k)]);
        return json;
    }

    private static JsonObject VectorUpdates(IEnumerable<Qdrant.Client.Grpc.PointVectors> points, Filter? updateFilter = null)
    {
        Unconditional(updateFilter, false);
        return VectorUpdates(points);
    }

    private static JsonObject VectorUpdates(IEnumerable<Qdrant.Client.Grpc.PointVectors> points) => new()
    {
        ["points"] = new JsonArray([.. points.Select(p => (JsonNode)new JsonObject
        {
            ["id"] = p.Id is null ? throw QuiverException.BadInput("Wrong input: a point has no id") : GrpcRequests.Id(p.Id),
            ["vector"] = p.Vectors is null ? null : GrpcRequests.Vectors(p.Vectors),
        })]),
    };

    private static JsonObject VectorDeletes(PointsSelector? selector, VectorsSelector? vectors)
    {
        var json = Selected(selector);
        json["vector"] = new JsonArray([.. (vectors?.Names ?? []).Select(n => (JsonNode)n)]);
        return json;
    }

    private static JsonObject BatchOperation(PointsUpdateOperation operation) => operation.OperationCase switch
    {
        PointsUpdateOperation.OperationOneofCase.Upsert => new JsonObject
        {
            ["upsert"] = Upsert(operation.Upsert.Points, operation.Upsert.UpdateFilter, operation.Upsert.HasUpdateMode && operation.Upsert.UpdateMode != UpdateMode.Upsert),
        },
        PointsUpdateOperation.OperationOneofCase.DeletePoints => new JsonObject { ["delete"] = Selected(operation.DeletePoints.Points) },
#pragma warning disable CS0612 // deprecated forms still sent by older clients
        PointsUpdateOperation.OperationOneofCase.DeleteDeprecated => new JsonObject { ["delete"] = Selected(operation.DeleteDeprecated) },
        PointsUpdateOperation.OperationOneofCase.ClearPayloadDeprecated => new JsonObject { ["clear_payload"] = Selected(operation.ClearPayloadDeprecated) },
#pragma warning restore CS0612
        PointsUpdateOperation.OperationOneofCase.SetPayload => new JsonObject
        {
            ["set_payload"] = Payload(operation.SetPayload.Payload, operation.SetPayload.PointsSelector, operation.SetPayload.HasKey ? operation.SetPayload.Key : null),
        },
        PointsUpdateOperation.OperationOneofCase.OverwritePayload => new JsonObject
        {
            ["overwrite_payload"] = Payload(operation.OverwritePayload.Payload, operation.OverwritePayload.PointsSelector, operation.OverwritePayload.HasKey ? operation.OverwritePayload.Key : null),
        },
        PointsUpdateOperation.OperationOneofCase.DeletePayload => new JsonObject { ["delete_payload"] = Keys(operation.DeletePayload.Keys, operation.DeletePayload.PointsSelector) },
        PointsUpdateOperation.OperationOneofCase.ClearPayload => new JsonObject { ["clear_payload"] = Selected(operation.ClearPayload.Points) },
        PointsUpdateOperation.OperationOneofCase.UpdateVectors => new JsonObject { ["update_vectors"] = VectorUpdates(operation.UpdateVectors.Points, operation.UpdateVectors.UpdateFilter) },
        PointsUpdateOperation.OperationOneofCase.DeleteVectors => new JsonObject { ["delete_vectors"] = VectorDeletes(operation.DeleteVectors.PointsSelector, operation.DeleteVectors.Vectors) },
        _ => throw QuiverException.BadInput("Wrong input: an update operation is empty"),
    };

    /// <summary>The REST <c>field_schema</c>: the type alone, or the type with its index params.</summary>
    private static JsonNode FieldSchema(CreateFieldIndexCollection request)
    {
        if (!request.HasFieldType)
            throw QuiverException.BadInput("Wrong input: field_type is required (Quiver does not infer index types)");
        var type = request.FieldType.ToString().Replace("FieldType", string.Empty, StringComparison.Ordinal).ToLowerInvariant();
        if (request.FieldIndexParams is not { } parameters || parameters.IndexParamsCase == PayloadIndexParams.IndexParamsOneofCase.None)
            return JsonValue.Create(type)!;
        // As a REST client writes it: the type first, then its params.
        var schema = new JsonObject { ["type"] = type };
        foreach (var (key, value) in ProtoJson.Settings(parameters).Single().Value!.AsObject())
            schema[key] = value?.DeepClone();
        return schema;
    }
}
