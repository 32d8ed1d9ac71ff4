using System.Text.Json;
using Quiver.Segment.Errors;
using Quiver.Segment.Payloads;
using Quiver.Segment.Points;

namespace Quiver.Engine.Operations;

/// <summary>
/// Reads the JSON shapes of a point's parts (vectors, payload) as Qdrant's API writes them, naming the field on
/// every error. Shared by the REST API and the ingestion connectors, so an event is read as a request would be.
/// </summary>
public static class PointJson
{
    public static float[] Dense(JsonElement array, string path)
    {
        if (array.ValueKind != JsonValueKind.Array)
            throw QuiverException.BadInput($"Format error in JSON body: {path}: expected an array of numbers");
        var values = new float[array.GetArrayLength()];
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetDouble(out var d))
                throw QuiverException.BadInput($"Format error in JSON body: {path}[{i}]: expected a number");
            var f = (float)d;
            if (!float.IsFinite(f))
                throw QuiverException.BadInput($"Format error in JSON body: {path}[{i}]: {item.GetRawText()} is out of the float32 range");
            values[i++] = f;
        }

        return values;
    }

    /// <summary>A point's vectors: an array (the unnamed vector) or an object of named vectors.</summary>
    public static NamedVector[] VectorStruct(JsonElement value, string path)
    {
        if (value.ValueKind == JsonValueKind.Array)
            return [new NamedVector(string.Empty, Dense(value, path))];
        if (value.ValueKind != JsonValueKind.Object)
            throw QuiverException.BadInput($"Format error in JSON body: {path}: expected an array of numbers or an object of named vectors");
        if (value.TryGetProperty("text", out _) || value.TryGetProperty("image", out _) || value.TryGetProperty("object", out _))
            throw QuiverException.BadInput($"{path}: server-side inference (Document, Image, Object) is not supported yet");
        var result = new List<NamedVector>();
        foreach (var entry in value.EnumerateObject())
        {
            var p = $"{path}.{entry.Name}";
            if (entry.Value.ValueKind == JsonValueKind.Object)
            {
                throw QuiverException.BadInput(entry.Value.TryGetProperty("indices", out _)
                    ? $"{p}: sparse vectors are not supported yet"
                    : $"{p}: server-side inference is not supported yet");
            }

            if (entry.Value.ValueKind == JsonValueKind.Array && entry.Value.GetArrayLength() > 0 && entry.Value[0].ValueKind == JsonValueKind.Array)
                throw QuiverException.BadInput($"{p}: multivectors are not supported yet");
            result.Add(new NamedVector(entry.Name, Dense(entry.Value, p)));
        }

        return [.. result];
    }

    public static Payload PayloadObject(JsonElement value, string path)
    {
        if (value.ValueKind == JsonValueKind.Null)
            return Payload.Empty;
        if (value.ValueKind != JsonValueKind.Object)
            throw QuiverException.BadInput($"Format error in JSON body: {path}: expected a JSON object");
        return Payload.FromElement(value);
    }
}
