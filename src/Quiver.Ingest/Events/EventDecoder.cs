using System.Text.Json;
using Quiver.Engine.Operations;
using Quiver.Ingest.Connectors;
using Quiver.Segment.Errors;
using Quiver.Segment.Payloads;
using Quiver.Segment.Points;

namespace Quiver.Ingest.Events;

/// <summary>
/// Turns one event into the point operation it means. Events are JSON:
/// <c>{"op": "upsert"|"delete"|"set_payload", "id": ..., "vector": ... | "text": ..., "payload": ..., "schema_version": 1}</c>.
/// Vectors and payloads are read exactly as the REST API reads them.
/// </summary>
public static class EventDecoder
{
    /// <summary>The event schema versions this server understands; others are dead-lettered, never guessed.</summary>
    public const int SchemaVersion = 1;

    /// <summary>Decodes an event, or says why it cannot be written (an outcome, not an exception).</summary>
    public static bool TryDecode(ReadOnlySpan<byte> json, string? key, IdSource idFrom, out PointOperation? operation, out string? error)
    {
        // Checked whole first: JSON strings with broken UTF-8 parse, and would only fail (or be stored) later.
        if (!System.Text.Unicode.Utf8.IsValid(json))
        {
            (operation, error) = (null, "not UTF-8 text");
            return false;
        }

        try
        {
            operation = Decode(json, key, idFrom);
            error = null;
            return true;
        }
        catch (QuiverException ex)
        {
            (operation, error) = (null, ex.Message);
            return false;
        }
        catch (JsonException ex)
        {
            (operation, error) = (null, $"not JSON: {ex.Message}");
            return false;
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or ArgumentException or OverflowException)
        {
            // Whatever an event's bytes make the reader throw, it is that event's fault: never a reason to stop.
            (operation, error) = (null, $"unreadable event: {ex.Message}");
            return false;
        }
    }

    private static PointOperation Decode(ReadOnlySpan<byte> json, string? key, IdSource idFrom)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 64 });
        using var doc = JsonDocument.ParseValue(ref reader);
        var e = doc.RootElement;
        if (e.ValueKind != JsonValueKind.Object)
            throw Bad("an event must be a JSON object");
        if (Field(e, "schema_version") is { } version && (version.ValueKind != JsonValueKind.Number || !version.TryGetInt32(out var v) || v != SchemaVersion))
            throw Bad($"schema_version {version.GetRawText()} is not supported; this server reads version {SchemaVersion}");
        var op = Field(e, "op") is { ValueKind: JsonValueKind.String } o ? o.GetString()! : throw Bad("`op` is required: upsert, delete or set_payload");
        var id = Id(e, key, idFrom);
        switch (op)
        {
            case "upsert":
            {
                if (Field(e, "text") is not null && Field(e, "vector") is null)
                    throw Bad("`text` needs server-side embedding, which this server does not offer yet; send `vector`");
                var vector = Field(e, "vector") ?? throw Bad("`vector` is required for upsert");
                var payload = Field(e, "payload") is { } p ? PointJson.PayloadObject(p, "payload") : Payload.Empty;
                return new UpsertPoints([new PointWrite(id, PointJson.VectorStruct(vector, "vector"), payload)]);
            }

            case "delete":
                return new DeletePoints(PointSelector.ByIds([id]));
            case "set_payload":
            {
                var payload = Field(e, "payload") ?? throw Bad("`payload` is required for set_payload");
                return new SetPayload(PointJson.PayloadObject(payload, "payload"), PointSelector.ByIds([id]), null);
            }

            default:
                throw Bad($"op '{op}' is unknown: expected upsert, delete or set_payload");
        }
    }

    private static PointId Id(JsonElement e, string? key, IdSource idFrom)
    {
        if (Field(e, "id") is { } id)
            return PointId.FromJson(id, "id");
        if (idFrom == IdSource.Key && key is not null)
        {
            return PointId.TryParse(key, out var fromKey)
                ? fromKey
                : throw Bad($"the key '{key}' is not a point id (an unsigned integer or a UUID)");
        }

        throw Bad(idFrom == IdSource.Key ? "`id` is missing and the message has no key" : "`id` is required");
    }

    private static JsonElement? Field(JsonElement e, string name) =>
        e.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    private static QuiverException Bad(string message) => QuiverException.BadInput(message);
}
