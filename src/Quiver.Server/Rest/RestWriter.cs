using System.Text.Json;
using Quiver.Engine.Collections;
using Quiver.Engine.Query;
using Quiver.Segment.Points;

namespace Quiver.Server.Rest;

/// <summary>Writes engine results in Qdrant's REST response shapes.</summary>
internal static class RestWriter
{
    public static Action<Utf8JsonWriter> True { get; } = w => w.WriteBooleanValue(true);

    public static void Id(Utf8JsonWriter w, PointId id) => id.WriteTo(w);

    public static Action<Utf8JsonWriter> Update(UpdateResult r) => w => WriteUpdate(w, r);

    public static void WriteUpdate(Utf8JsonWriter w, UpdateResult r)
    {
        w.WriteStartObject();
        w.WriteNumber("operation_id", r.OperationId);
        w.WriteString("status", r.Completed ? "completed" : "acknowledged");
        w.WriteEndObject();
    }

    public static void Vectors(Utf8JsonWriter w, IReadOnlyList<NamedVector>? vectors, bool unnamed)
    {
        if (vectors is null)
        {
            w.WriteNullValue();
            return;
        }

        // A collection with the unnamed vector answers with its array, unless the point also has sparse vectors:
        // then, as in Qdrant, an object with the unnamed one under "".
        if (unnamed && (vectors.Count == 0 || (vectors.Count == 1 && !vectors[0].IsSparse && vectors[0].Name.Length == 0)))
        {
            if (vectors.Count == 0)
                w.WriteNullValue();
            else if (vectors[0].Multi is { } single)
                Multi(w, single);
            else
                Dense(w, vectors[0].Values);
            return;
        }

        w.WriteStartObject();
        foreach (var v in vectors)
        {
            w.WritePropertyName(v.Name);
            if (v.Sparse is { } sparse)
            {
                w.WriteStartObject();
                w.WriteStartArray("indices");
                foreach (var i in sparse.Indices)
                    w.WriteNumberValue(i);
                w.WriteEndArray();
                w.WritePropertyName("values");
                Dense(w, sparse.Values);
                w.WriteEndObject();
            }
            else if (v.Multi is { } multi)
            {
                Multi(w, multi);
            }
            else
            {
                Dense(w, v.Values);
            }
        }

        w.WriteEndObject();
    }

    private static void Multi(Utf8JsonWriter w, MultiVector multi)
    {
        w.WriteStartArray();
        for (var i = 0; i < multi.Count; i++)
        {
            w.WriteStartArray();
            foreach (var f in multi.Row(i))
                w.WriteNumberValue(f);
            w.WriteEndArray();
        }

        w.WriteEndArray();
    }

    private static void Dense(Utf8JsonWriter w, float[] values)
    {
        w.WriteStartArray();
        foreach (var f in values)
            w.WriteNumberValue(f);
        w.WriteEndArray();
    }

    public static void Record(Utf8JsonWriter w, PointRecord r, bool unnamed)
    {
        w.WriteStartObject();
        w.WritePropertyName("id");
        r.Id.WriteTo(w);
        w.WritePropertyName("payload");
        if (r.Payload is null)
            w.WriteNullValue();
        else
            r.Payload.Root.WriteTo(w);
        w.WritePropertyName("vector");
        Vectors(w, r.Vectors, unnamed);
        if (r.OrderValue is { } order)
        {
            w.WritePropertyName("order_value");
            if (order == Math.Floor(order) && Math.Abs(order) < 9e15)
                w.WriteNumberValue((long)order);
            else
                w.WriteNumberValue(order);
        }

        w.WriteEndObject();
    }

    public static void Scored(Utf8JsonWriter w, ScoredRecord r, bool unnamed)
    {
        w.WriteStartObject();
        w.WritePropertyName("id");
        r.Id.WriteTo(w);
        w.WriteNumber("version", r.Version);
        w.WriteNumber("score", r.Score);
        w.WritePropertyName("payload");
        if (r.Payload is null)
            w.WriteNullValue();
        else
            r.Payload.Root.WriteTo(w);
        w.WritePropertyName("vector");
        Vectors(w, r.Vectors, unnamed);
        w.WriteEndObject();
    }

    public static void ScoredList(Utf8JsonWriter w, IReadOnlyList<ScoredRecord> points, bool unnamed)
    {
        w.WriteStartObject();
        w.WriteStartArray("points");
        foreach (var p in points)
            Scored(w, p, unnamed);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    public static void Optimizations(Utf8JsonWriter w, IReadOnlyList<OptimizerProgress> running)
    {
        w.WriteStartObject();
        w.WriteStartObject("summary");
        w.WriteNumber("queued_optimizations", 0);
        w.WriteNumber("queued_segments", 0);
        w.WriteNumber("queued_points", 0);
        w.WriteNumber("idle_segments", 0);
        w.WriteEndObject();
        w.WriteStartArray("running");
        foreach (var r in running)
        {
            w.WriteStartObject();
            // Stable per shard and kind, so a poller can follow one optimization.
            w.WriteString("uuid", new Guid(r.Shard, 0, 0, System.Text.Encoding.ASCII.GetBytes(r.Kind.PadRight(8)[..8])).ToString());
            w.WriteString("optimizer", r.Kind);
            w.WriteString("status", "optimizing");
            w.WriteStartArray("segments");
            w.WriteEndArray();
            w.WriteStartObject("progress");
            w.WriteString("name", r.Kind);
            w.WriteString("started_at", r.StartedAt);
            w.WriteNumber("done", r.PointsDone);
            w.WriteNumber("total", r.PointsTotal);
            w.WriteEndObject();
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    public static void CollectionInfo(Utf8JsonWriter w, Collection collection)
    {
        var stats = collection.Stats();
        w.WriteStartObject();
        // As Qdrant: yellow while optimizing, grey when optimizations are due but not started, green otherwise.
        // Every write is searchable at once whatever the status.
        w.WriteString("status", stats.Optimizing ? "yellow" : stats.OptimizationPending ? "grey" : "green");
        w.WriteString("optimizer_status", "ok");
        w.WriteNumber("indexed_vectors_count", stats.IndexedVectorsCount);
        w.WriteNumber("points_count", stats.PointsCount);
        w.WriteNumber("segments_count", stats.SegmentsCount);
        w.WritePropertyName("config");
        collection.Config.Json.WriteTo(w);
        w.WriteStartObject("payload_schema");
        foreach (var field in stats.PayloadSchema)
        {
            w.WritePropertyName(field.Field);
            field.WriteInfo(w);
        }

        w.WriteEndObject();
        w.WriteEndObject();
    }
}
