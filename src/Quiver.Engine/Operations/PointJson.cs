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
    /// <param name="documents">
    /// Where a vector is a document (<c>{"text", "model"}</c>), the vector inferred for it, by vector name, document
    /// and JSON path (computed beforehand, in batches); null when the caller does not infer.
    /// </param>
    public static NamedVector[] VectorStruct(JsonElement value, string path, Func<string, JsonElement, string, NamedVector>? documents = null)
    {
        if (value.ValueKind == JsonValueKind.Array)
            return [Entry(string.Empty, value, path, documents)];
        if (value.ValueKind != JsonValueKind.Object)
            throw QuiverException.BadInput($"Format error in JSON body: {path}: expected an array of numbers or an object of named vectors");
        // The unnamed vector given as a document; an object is otherwise a map of named vectors (one may be called "text").
        if (IsDocument(value))
            return [Entry(string.Empty, value, path, documents)];
        if (value.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
            throw QuiverException.BadInput($"Wrong input: {path}: a document needs a `model` naming the model that embeds its text");
        var result = new List<NamedVector>();
        foreach (var entry in value.EnumerateObject())
            result.Add(Entry(entry.Name, entry.Value, $"{path}.{entry.Name}", documents));
        return [.. result];
    }

    /// <summary>
    /// Qdrant's <c>Document</c>: an object whose <c>text</c> is a string and that names a <c>model</c>. Anything else
    /// with a <c>text</c> key (a named vector called "text", a payload field) is not one.
    /// </summary>
    public static bool IsDocument(JsonElement value) =>
        value.ValueKind == JsonValueKind.Object && value.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String
        && value.TryGetProperty("model", out _);

    /// <summary>One named vector: dense (an array), sparse (<c>{indices, values}</c>) or a document to infer.</summary>
    public static NamedVector Entry(string name, JsonElement value, string path, Func<string, JsonElement, string, NamedVector>? documents)
    {
        if (value.ValueKind == JsonValueKind.Object)
        {
            if (IsDocument(value))
            {
                return documents is not null
                    ? documents(name, value, path)
                    : throw QuiverException.BadInput($"{path}: documents are not inferred here; give the vector itself");
            }

            if (value.TryGetProperty("indices", out _) || value.TryGetProperty("values", out _))
                return NamedVector.OfSparse(name, Sparse(value, path));
            if (value.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
                throw QuiverException.BadInput($"Wrong input: {path}: a document needs a `model` naming the model that embeds its text");
            if (value.TryGetProperty("image", out _) || value.TryGetProperty("object", out _))
                throw QuiverException.BadInput($"{path}: server-side inference of images and objects is not supported; documents ({{\"text\", \"model\"}}) are");
            throw QuiverException.BadInput($"{path}: expected a dense vector, a sparse vector {{indices, values}} or a document {{text, model}}");
        }

        if (value.ValueKind == JsonValueKind.Array && value.GetArrayLength() > 0 && value[0].ValueKind == JsonValueKind.Array)
            return NamedVector.OfMulti(name, Multi(value, path));
        return new NamedVector(name, Dense(value, path));
    }

    /// <summary>A multivector: a non-empty list of vectors of one size.</summary>
    public static MultiVector Multi(JsonElement value, string path)
    {
        var rows = new List<float[]>(value.GetArrayLength());
        foreach (var row in value.EnumerateArray())
            rows.Add(Dense(row, $"{path}[{rows.Count}]"));
        try
        {
            return MultiVector.Create(rows);
        }
        catch (ArgumentException e)
        {
            throw QuiverException.BadInput($"Wrong input: {path}: {e.Message}");
        }
    }

    /// <summary>A sparse vector <c>{"indices": [uint...], "values": [number...]}</c>.</summary>
    public static SparseVector Sparse(JsonElement value, string path)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw QuiverException.BadInput($"Format error in JSON body: {path}: expected a sparse vector {{\"indices\": [...], \"values\": [...]}}");
        uint[]? indices = null;
        float[]? values = null;
        foreach (var field in value.EnumerateObject())
        {
            switch (field.Name)
            {
                case "indices":
                    if (field.Value.ValueKind != JsonValueKind.Array)
                        throw QuiverException.BadInput($"Format error in JSON body: {path}.indices: expected an array of non-negative integers");
                    indices = new uint[field.Value.GetArrayLength()];
                    var i = 0;
                    foreach (var item in field.Value.EnumerateArray())
                    {
                        if (item.ValueKind != JsonValueKind.Number || !item.TryGetUInt32(out indices[i]))
                            throw QuiverException.BadInput($"Format error in JSON body: {path}.indices[{i}]: expected an integer from 0 to {uint.MaxValue}");
                        i++;
                    }

                    break;
                case "values":
                    values = Dense(field.Value, $"{path}.values");
                    break;
                default:
                    throw QuiverException.BadInput($"Format error in JSON body: {path}.{field.Name}: unknown field; a sparse vector has indices and values");
            }
        }

        if (indices is null || values is null)
            throw QuiverException.BadInput($"Format error in JSON body: {path}: a sparse vector needs both indices and values");
        try
        {
            return SparseVector.Create(indices, values);
        }
        catch (ArgumentException e)
        {
            throw QuiverException.BadInput($"Wrong input: {path}: {e.Message}");
        }
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
