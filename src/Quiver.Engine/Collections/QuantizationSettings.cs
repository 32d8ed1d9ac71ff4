using System.Text.Json;
using System.Text.Json.Nodes;
using Quiver.Segment.Errors;

namespace Quiver.Engine.Collections;

/// <summary>
/// A vector space's effective <c>quantization_config</c> (the vector's own, else the collection's): scalar int8 codes,
/// learnt from the whole range of the components or their central <paramref name="Quantile"/> share.
/// <paramref name="AlwaysRam"/> (<c>always_ram</c>, or <c>memory</c> other than "cold") keeps the codes in memory
/// whatever the vectors' placement; they always are today.
/// </summary>
public sealed record QuantizationSettings(double? Quantile, bool AlwaysRam)
{
    /// <summary>
    /// Reads a stored config; null when quantization is off. A quantile of 1 is the whole range, as unset (so codes
    /// learnt either way match), and one out of range (a config stored before it was checked) is read as unset.
    /// </summary>
    internal static QuantizationSettings? From(JsonNode? config)
    {
        if (config is not JsonObject obj || obj["scalar"] is not JsonObject scalar)
            return null;
        double? quantile = scalar["quantile"] is JsonValue q && q.TryGetValue<double>(out var v) && v >= 0.5 && v < 1 ? v : null;
        var alwaysRam = scalar["memory"] is JsonValue m && m.TryGetValue<string>(out var placement)
            ? placement != "cold"
            : scalar["always_ram"] is JsonValue a && a.TryGetValue<bool>(out var ram) && ram;
        return new QuantizationSettings(quantile, alwaysRam);
    }

    /// <summary>
    /// Checks a <c>quantization_config</c>: one of Qdrant's kinds, with settings of the right kind and range.
    /// Kinds this engine does not build yet are refused rather than stored and ignored. With
    /// <paramref name="allowDisabled"/> (an update), the string "Disabled" turns quantization off.
    /// </summary>
    internal static void Check(JsonElement config, string path, bool allowDisabled)
    {
        if (config.ValueKind == JsonValueKind.Null)
            return;
        if (allowDisabled && config.ValueKind == JsonValueKind.String && config.GetString() == "Disabled")
            return;
        if (config.ValueKind != JsonValueKind.Object)
            throw QuiverException.BadInput($"{path}: expected an object with one of scalar, product, binary{(allowDisabled ? ", or \"Disabled\"" : string.Empty)}");
        var kinds = config.EnumerateObject().Select(p => p.Name).ToList();
        if (kinds.Count != 1)
            throw QuiverException.BadInput($"{path}: expected exactly one of scalar, product, binary; got {(kinds.Count == 0 ? "none" : string.Join(", ", kinds))}");
        var kind = kinds[0];
        var settings = config.GetProperty(kind);
        switch (kind)
        {
            case "scalar":
                CheckScalar(settings, $"{path}.scalar");
                break;
            case "product" or "binary" or "turbo":
                throw QuiverException.BadInput($"{path}.{kind}: {kind} quantization is not supported yet; use scalar (int8)");
            default:
                throw QuiverException.BadInput($"{path}: unknown quantization '{kind}'; expected one of scalar, product, binary");
        }
    }

    private static void CheckScalar(JsonElement scalar, string path)
    {
        if (scalar.ValueKind != JsonValueKind.Object)
            throw QuiverException.BadInput($"{path}: expected an object");
        if (!scalar.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != "int8")
            throw QuiverException.BadInput($"{path}.type: expected \"int8\"");
        foreach (var field in scalar.EnumerateObject())
        {
            var value = field.Value;
            switch (field.Name)
            {
                case "type":
                    break;
                case "quantile":
                    if (value.ValueKind != JsonValueKind.Null
                        && (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var q) || !(q >= 0.5 && q <= 1)))
                    {
                        throw QuiverException.BadInput($"{path}.quantile: expected a number from 0.5 to 1");
                    }

                    break;
                case "always_ram":
                    if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null))
                        throw QuiverException.BadInput($"{path}.always_ram: expected true or false");
                    break;
                case "memory":
                    if (value.ValueKind != JsonValueKind.Null
                        && (value.ValueKind != JsonValueKind.String || value.GetString() is not ("cold" or "cached" or "pinned")))
                    {
                        throw QuiverException.BadInput($"{path}.memory: expected one of cold, cached, pinned");
                    }

                    break;
                default:
                    throw QuiverException.BadInput($"{path}.{field.Name}: unknown setting; expected type, quantile, always_ram, memory");
            }
        }
    }
}
