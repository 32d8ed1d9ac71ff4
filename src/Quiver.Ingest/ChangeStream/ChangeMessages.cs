using System.Text.Json;
using Quiver.Engine.Operations;
using Quiver.Segment.Points;

namespace Quiver.Ingest.ChangeStream;

/// <summary>One message of the change stream, ready to publish; <see cref="Id"/> is null for filter-selected changes.</summary>
internal readonly record struct ChangeMessage(string Collection, int Shard, ulong Incarnation, ulong Version, int Part, PointId? Id, byte[] Json);

/// <summary>
/// Turns one applied operation into change messages: one per point it names,
/// <c>{"collection","shard","version","op","id"}</c>, or one carrying the <c>filter</c> for operations that select
/// points by filter (the points are not in the log), or the <c>field</c> for payload index changes.
/// </summary>
internal static class ChangeMessages
{
    public static void Expand(string collection, int shard, ulong incarnation, ulong version, PointOperation operation, List<ChangeMessage> output)
    {
        var (op, ids, selector, field) = operation switch
        {
            UpsertPoints u => ("upsert", u.Points.Select(p => p.Id).ToArray(), null, null),
            UpdateVectors v => ("update_vectors", v.Points.Select(p => p.Id).ToArray(), null, null),
            DeletePoints d => ("delete", null, d.Selector, null),
            SetPayload s => ("set_payload", null, s.Selector, null),
            OverwritePayload o => ("overwrite_payload", null, o.Selector, null),
            DeletePayloadKeys k => ("delete_payload", null, k.Selector, null),
            ClearPayload c => ("clear_payload", null, c.Selector, null),
            DeleteVectors dv => ("delete_vectors", null, dv.Selector, null),
            CreateFieldIndex ci => ("create_field_index", null, null, ci.FieldName),
            DeleteFieldIndex di => ("delete_field_index", (PointId[]?)null, (PointSelector?)null, di.FieldName),
            _ => throw new ArgumentException($"unknown operation {operation.GetType().Name}", nameof(operation)),
        };
        ids ??= selector?.Ids?.ToArray();
        if (ids is not null)
        {
            for (var i = 0; i < ids.Length; i++)
            {
                var id = ids[i];
                output.Add(new ChangeMessage(collection, shard, incarnation, version, i, id, Write(collection, shard, version, op, w => WriteId(w, id))));
            }

            return;
        }

        output.Add(new ChangeMessage(collection, shard, incarnation, version, 0, null, Write(collection, shard, version, op, w =>
        {
            if (selector?.Filter is { } filter)
            {
                w.WritePropertyName("filter");
                w.WriteRawValue(filter.Json, skipInputValidation: true);
            }
            else if (field is not null)
            {
                w.WriteString("field", field);
            }
        })));
    }

    // Ids keep their API type: numbers as numbers, UUIDs as strings.
    private static void WriteId(Utf8JsonWriter w, PointId id)
    {
        if (id.IsUuid)
            w.WriteString("id", id.ToString());
        else
            w.WriteNumber("id", ulong.Parse(id.ToString(), System.Globalization.CultureInfo.InvariantCulture));
    }

    private static byte[] Write(string collection, int shard, ulong version, string op, Action<Utf8JsonWriter> body)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteString("collection", collection);
            w.WriteNumber("shard", shard);
            w.WriteNumber("version", version);
            w.WriteString("op", op);
            body(w);
            w.WriteEndObject();
        }

        return stream.ToArray();
    }
}
