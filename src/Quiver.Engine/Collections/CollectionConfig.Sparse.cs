using System.Text.Json;
using System.Text.Json.Nodes;
using Quiver.Segment.Errors;

namespace Quiver.Engine.Collections;

/// <summary>A sparse vector space of a collection: scored by dot product, with IDF weighting when <paramref name="Idf"/>.</summary>
public sealed record SparseSpace(string Name, bool Idf);

public sealed partial class CollectionConfig
{
    /// <summary>The sparse vector spaces (<c>params.sparse_vectors</c>), by name.</summary>
    public IReadOnlyList<SparseSpace> SparseSpaces { get; }

    public SparseSpace? FindSparse(string name)
    {
        foreach (var space in SparseSpaces)
        {
            if (space.Name == name)
                return space;
        }

        return null;
    }

    private static List<SparseSpace> ReadSparseSpaces(JsonObject parameters)
    {
        var result = new List<SparseSpace>();
        if (parameters["sparse_vectors"] is JsonObject sparse)
        {
            foreach (var (name, value) in sparse)
                result.Add(new SparseSpace(name, value?["modifier"] is JsonValue m && m.TryGetValue<string>(out var modifier) && modifier == "idf"));
        }

        return result;
    }

    /// <summary>Checks a create request's <c>sparse_vectors</c> (spec <c>SparseVectorParams</c> per name).</summary>
    private static JsonObject ValidateSparseVectors(JsonElement sparse, JsonObject dense)
    {
        if (sparse.ValueKind != JsonValueKind.Object)
            throw QuiverException.BadInput("sparse_vectors: expected an object of sparse vector names");
        var result = new JsonObject();
        foreach (var entry in sparse.EnumerateObject())
        {
            var path = $"sparse_vectors.{entry.Name}";
            if (entry.Name.Length == 0)
                throw QuiverException.BadInput("sparse_vectors: a sparse vector needs a non-empty name");
            if (IsSingleVectorParams(dense) ? entry.Name.Length == 0 : dense.ContainsKey(entry.Name))
                throw QuiverException.BadInput($"{path}: the name is already a dense vector's");
            result[entry.Name] = ValidateSparseParams(entry.Value, path);
        }

        return result;
    }

    private static JsonObject ValidateSparseParams(JsonElement value, string path)
    {
        if (value.ValueKind == JsonValueKind.Null)
            return [];
        if (value.ValueKind != JsonValueKind.Object)
            throw QuiverException.BadInput($"{path}: expected an object with index and modifier");
        var result = new JsonObject();
        foreach (var field in value.EnumerateObject())
        {
            switch (field.Name)
            {
                case "modifier":
                    if (field.Value.ValueKind == JsonValueKind.Null)
                        continue;
                    if (field.Value.ValueKind != JsonValueKind.String || field.Value.GetString() is not ("none" or "idf"))
                        throw QuiverException.BadInput($"{path}.modifier: expected \"none\" or \"idf\"");
                    result["modifier"] = field.Value.GetString();
                    break;
                case "index":
                    if (field.Value.ValueKind == JsonValueKind.Null)
                        continue;
                    result["index"] = ValidateSparseIndex(field.Value, $"{path}.index");
                    break;
                default:
                    throw QuiverException.BadInput($"{path}.{field.Name}: unknown field; expected index, modifier");
            }
        }

        return result;
    }

    private static JsonObject ValidateSparseIndex(JsonElement index, string path)
    {
        if (index.ValueKind != JsonValueKind.Object)
            throw QuiverException.BadInput($"{path}: expected an object");
        foreach (var field in index.EnumerateObject())
        {
            var ok = field.Name switch
            {
                "full_scan_threshold" => field.Value.ValueKind == JsonValueKind.Null || (field.Value.TryGetInt64(out var n) && n >= 0),
                "on_disk" => field.Value.ValueKind is JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null,
                "datatype" => field.Value.ValueKind == JsonValueKind.Null || field.Value.GetString() is "float32" or "float16" or "uint8",
                _ => throw QuiverException.BadInput($"{path}.{field.Name}: unknown field; expected full_scan_threshold, on_disk, datatype"),
            };
            if (!ok)
            {
                throw QuiverException.BadInput(field.Name switch
                {
                    "full_scan_threshold" => $"{path}.full_scan_threshold: expected a non-negative integer",
                    "on_disk" => $"{path}.on_disk: expected a boolean",
                    _ => $"{path}.datatype: expected float32, float16 or uint8",
                });
            }
        }

        return (JsonObject)JsonNode.Parse(index.GetRawText())!;
    }

    /// <summary>PATCH <c>sparse_vectors</c>: each named sparse vector's index settings and modifier may change.</summary>
    private static void ApplySparseUpdate(JsonObject parameters, JsonElement diff)
    {
        if (diff.ValueKind != JsonValueKind.Object)
            throw QuiverException.BadInput("sparse_vectors: expected an object of sparse vector names");
        foreach (var entry in diff.EnumerateObject())
        {
            if (parameters["sparse_vectors"]?[entry.Name] is not JsonObject target)
                throw QuiverException.BadInput($"Wrong input: Not existing vector name error: {entry.Name}");
            foreach (var (key, value) in ValidateSparseParams(entry.Value, $"sparse_vectors.{entry.Name}"))
                target[key] = value?.DeepClone();
        }
    }
}
