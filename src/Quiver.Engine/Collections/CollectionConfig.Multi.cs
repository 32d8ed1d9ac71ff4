using System.Text.Json;
using System.Text.Json.Nodes;
using Quiver.Segment.Errors;

namespace Quiver.Engine.Collections;

/// <summary>Multivector spaces (dense vector params with <c>multivector_config</c>).</summary>
public sealed partial class CollectionConfig
{
    /// <summary>
    /// The multivector spaces: each point holds several vectors of <see cref="VectorSpace.Dimension"/>, compared by
    /// max_sim. They are not among <see cref="VectorSpaces"/> (no graph, no dense rows).
    /// </summary>
    public IReadOnlyList<VectorSpace> MultiSpaces { get; }

    public VectorSpace? FindMulti(string name)
    {
        foreach (var space in MultiSpaces)
        {
            if (space.Name == name)
                return space;
        }

        return null;
    }

    private static bool IsMulti(JsonObject vectorParams) => vectorParams["multivector_config"] is JsonObject;

    private static void CheckMultivectorConfig(JsonElement vectorParams, JsonElement multi, string path)
    {
        if (multi.ValueKind != JsonValueKind.Object)
            throw QuiverException.BadInput($"{path}: expected an object with comparator");
        foreach (var field in multi.EnumerateObject())
        {
            if (field.Name != "comparator")
                throw QuiverException.BadInput($"{path}.{field.Name}: unknown field; expected comparator");
            if (field.Value.ValueKind != JsonValueKind.String || field.Value.GetString() != "max_sim")
                throw QuiverException.BadInput($"{path}.comparator: expected max_sim");
        }

        // Multivectors are kept as float32 and searched exactly: the compact datatypes are for indexed dense rows.
        if (vectorParams.TryGetProperty("datatype", out var datatype) && datatype.ValueKind == JsonValueKind.String && datatype.GetString() is not ("float32" or "default"))
            throw QuiverException.BadInput($"{path}: multivectors are stored as float32; datatype {datatype.GetString()} is not supported for them");
    }
}
