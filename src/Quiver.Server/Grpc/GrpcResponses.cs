using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf.WellKnownTypes;
using Qdrant.Client.Grpc;
using Quiver.Engine.Collections;
using Quiver.Engine.Query;
using Quiver.Engine.Snapshots;
using Quiver.Segment.Points;
using GrpcPointId = Qdrant.Client.Grpc.PointId;
using PointId = Quiver.Segment.Points.PointId;

namespace Quiver.Server.Grpc;

/// <summary>Engine results as Qdrant's gRPC response messages.</summary>
internal static class GrpcResponses
{
    public static GrpcPointId Id(PointId id) => id.IsUuid ? new GrpcPointId { Uuid = id.Uuid.ToString("D") } : new GrpcPointId { Num = id.Number };

    public static ScoredPoint Scored(ScoredRecord record, bool unnamed)
    {
        var point = new ScoredPoint { Id = Id(record.Id), Score = record.Score, Version = record.Version };
        if (record.Payload is { } payload)
            ProtoJson.ToPayload(payload.Utf8, point.Payload);
        if (record.Vectors is { } vectors)
            point.Vectors = Vectors(vectors, unnamed);
        return point;
    }

    public static RetrievedPoint Retrieved(PointRecord record, bool unnamed)
    {
        var point = new RetrievedPoint { Id = Id(record.Id) };
        if (record.Payload is { } payload)
            ProtoJson.ToPayload(payload.Utf8, point.Payload);
        if (record.Vectors is { } vectors)
            point.Vectors = Vectors(vectors, unnamed);
        if (record.OrderValue is { } order)
            point.OrderValue = order == Math.Floor(order) && Math.Abs(order) < 9e15 ? new OrderValue { Int = (long)order } : new OrderValue { Float = order };
        return point;
    }

    private static VectorsOutput? Vectors(IReadOnlyList<NamedVector> vectors, bool unnamed)
    {
        if (unnamed && (vectors.Count == 0 || (vectors.Count == 1 && !vectors[0].IsSparse && vectors[0].Name.Length == 0)))
            return vectors.Count == 0 ? null : new VectorsOutput { Vector = Output(vectors[0]) };
        var named = new NamedVectorsOutput();
        foreach (var v in vectors)
            named.Vectors[v.Name] = Output(v);
        return new VectorsOutput { Vectors = named };
    }

    private static VectorOutput Output(NamedVector v)
    {
        if (v.Sparse is { } sparse)
            return Sparse(sparse);
        if (v.Multi is not { } multi)
            return Dense(v.Values);
        var output = new VectorOutput { MultiDense = new MultiDenseVector() };
        for (var i = 0; i < multi.Count; i++)
        {
            var row = new DenseVector();
            row.Data.Add(multi.Row(i).ToArray());
            output.MultiDense.Vectors.Add(row);
        }

        return output;
    }

    private static VectorOutput Sparse(Quiver.Segment.Points.SparseVector sparse)
    {
        var output = new VectorOutput { Sparse = new Qdrant.Client.Grpc.SparseVector() };
        output.Sparse.Indices.Add(sparse.Indices);
        output.Sparse.Values.Add(sparse.Values);
        return output;
    }

    /// <summary>Both the current <c>dense</c> form and the deprecated <c>data</c> field, which older clients read.</summary>
    private static VectorOutput Dense(float[] values)
    {
        var output = new VectorOutput { Dense = new DenseVector() };
        output.Dense.Data.Add(values);
#pragma warning disable CS0612 // deprecated on the wire, still read by clients
        output.Data.Add(values);
#pragma warning restore CS0612
        return output;
    }

    public static Qdrant.Client.Grpc.UpdateResult Update(Engine.Query.UpdateResult result) => new()
    {
        OperationId = result.OperationId,
        Status = result.Completed ? UpdateStatus.Completed : UpdateStatus.Acknowledged,
    };

    public static SnapshotDescription Snapshot(SnapshotInfo info)
    {
        var description = new SnapshotDescription
        {
            Name = info.Name,
            CreationTime = Timestamp.FromDateTime(DateTime.SpecifyKind(info.CreationTime, DateTimeKind.Utc)),
            Size = info.Size,
        };
        if (info.Checksum is not null)
            description.Checksum = info.Checksum;
        return description;
    }

    /// <summary>Collection info from the same JSON the REST endpoint answers with.</summary>
    public static CollectionInfo CollectionInfo(Collection collection)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
            Rest.RestWriter.CollectionInfo(writer, collection);
        var json = JsonNode.Parse(buffer.WrittenSpan)!.AsObject();
        var info = new CollectionInfo
        {
            Status = json["status"]!.GetValue<string>() switch
            {
                "green" => CollectionStatus.Green,
                "yellow" => CollectionStatus.Yellow,
                "grey" => CollectionStatus.Grey,
                _ => CollectionStatus.Red,
            },
            OptimizerStatus = new OptimizerStatus { Ok = true },
            SegmentsCount = json["segments_count"]!.GetValue<ulong>(),
            PointsCount = json["points_count"]!.GetValue<ulong>(),
            IndexedVectorsCount = json["indexed_vectors_count"]!.GetValue<ulong>(),
            Config = Config(json["config"]!.AsObject()),
        };
        foreach (var (field, schema) in json["payload_schema"]!.AsObject())
        {
            var entry = new PayloadSchemaInfo { DataType = ProtoJson.ToSettings<PayloadSchemaInfo>(new JsonObject { ["data_type"] = schema!["data_type"]!.DeepClone() }).DataType };
            if (schema["points"] is JsonValue points)
                entry.Points = points.GetValue<ulong>();
            // REST's params carry their type; on the wire they sit in the oneof case named after it.
            if (schema["params"] is JsonObject parameters && parameters["type"]?.GetValue<string>() is { } type)
            {
                var settings = parameters.DeepClone().AsObject();
                settings.Remove("type");
                entry.Params = ProtoJson.ToSettings<PayloadIndexParams>(new JsonObject { [$"{type}_index_params"] = settings });
            }
            info.PayloadSchema[field] = entry;
        }

        return info;
    }

    private static Qdrant.Client.Grpc.CollectionConfig Config(JsonObject config)
    {
        var parameters = config["params"]!.AsObject();
        var result = new Qdrant.Client.Grpc.CollectionConfig
        {
            Params = new CollectionParams
            {
                ShardNumber = parameters["shard_number"]!.GetValue<uint>(),
#pragma warning disable CS0612 // deprecated on the wire, still read by clients
                OnDiskPayload = parameters["on_disk_payload"]?.GetValue<bool>() ?? true,
#pragma warning restore CS0612
                ReplicationFactor = parameters["replication_factor"]?.GetValue<uint>() ?? 1,
                WriteConsistencyFactor = parameters["write_consistency_factor"]?.GetValue<uint>() ?? 1,
                VectorsConfig = VectorsConfig(parameters["vectors"] as JsonObject ?? []),
            },
            HnswConfig = ProtoJson.ToSettings<HnswConfigDiff>(config["hnsw_config"] as JsonObject ?? []),
            OptimizerConfig = Optimizers(config["optimizer_config"] as JsonObject ?? []),
            WalConfig = ProtoJson.ToSettings<WalConfigDiff>(config["wal_config"] as JsonObject ?? []),
        };
        if (config["quantization_config"] is JsonObject quantization)
            result.QuantizationConfig = ProtoJson.ToSettings<QuantizationConfig>(quantization);
        if (config["metadata"] is JsonObject metadata)
            ProtoJson.ToPayload(System.Text.Encoding.UTF8.GetBytes(metadata.ToJsonString()), result.Metadata);
        return result;
    }

    private static VectorsConfig VectorsConfig(JsonObject vectors)
    {
        if (vectors["size"] is not null)
            return new VectorsConfig { Params = ProtoJson.ToSettings<VectorParams>(vectors) };
        var map = new VectorParamsMap();
        foreach (var (name, parameters) in vectors)
            map.Map[name] = ProtoJson.ToSettings<VectorParams>(parameters as JsonObject ?? []);
        return new VectorsConfig { ParamsMap = map };
    }

    private static OptimizersConfigDiff Optimizers(JsonObject optimizers)
    {
        var copy = optimizers.DeepClone().AsObject();
        var threads = copy["max_optimization_threads"];
        copy.Remove("max_optimization_threads");
        var result = ProtoJson.ToSettings<OptimizersConfigDiff>(copy);
        if (threads is JsonValue value && value.TryGetValue<ulong>(out var count))
            result.MaxOptimizationThreads = new MaxOptimizationThreads { Value = count };
        else if (threads is not null)
            result.MaxOptimizationThreads = new MaxOptimizationThreads { Setting = MaxOptimizationThreads.Types.Setting.Auto };
        return result;
    }
}
