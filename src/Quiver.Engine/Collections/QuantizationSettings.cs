using System.Text.Json;
using System.Text.Json.Nodes;
using Quiver.Index.Quantization;
using Quiver.Segment.Errors;

namespace Quiver.Engine.Collections;

/// <summary>
/// A vector space's effective <c>quantization_config</c> (the vector's own, else the collection's).
/// <list type="bullet">
/// <item><see cref="QuantizationKind.Scalar"/>: int8 codes learnt from the whole range of the components or their
/// central <paramref name="Quantile"/> share.</item>
/// <item><see cref="QuantizationKind.Binary"/>: bit codes of <paramref name="Encoding"/>; with
/// <paramref name="AsymmetricQuery"/> (<c>query_encoding</c> scalar4bits or scalar8bits) a query keeps its floats and is
/// scored against what the bits stand for.</item>
/// </list>
/// <paramref name="AlwaysRam"/> (<c>always_ram</c>, or <c>memory</c> other than "cold") keeps the codes in memory
/// whatever the vectors' placement; they always are today.
/// </summary>
public sealed record QuantizationSettings(QuantizationKind Kind, double? Quantile, BinaryEncoding Encoding, bool AsymmetricQuery, bool AlwaysRam)
{
    /// <summary>Product quantization's compression ratio (4 to 64): a row of d float32 takes 4d / ratio bytes.</summary>
    public int Compression { get; init; } = 16;

    /// <summary>Whether <paramref name="codes"/> are what these settings build (so they need not be built again).</summary>
    public bool Matches(QuantizedCodes codes) => codes switch
    {
        QuantizedVectors scalar => Kind == QuantizationKind.Scalar && scalar.Quantizer.Quantile == Quantile,
        BinaryCodes binary => Kind == QuantizationKind.Binary && binary.Quantizer.Encoding == Encoding && binary.AsymmetricQuery == AsymmetricQuery,
        ProductCodes product => Kind == QuantizationKind.Product && product.Quantizer.Subspaces == ProductQuantizer.SubspacesFor(product.Dimension, Compression),
        _ => false,
    };

    /// <summary>
    /// Reads a stored config; null when quantization is off. A quantile of 1 is the whole range, as unset (so codes
    /// learnt either way match), and one out of range (a config stored before it was checked) is read as unset.
    /// </summary>
    internal static QuantizationSettings? From(JsonNode? config)
    {
        if (config is not JsonObject obj)
            return null;
        if (obj["scalar"] is JsonObject scalar)
        {
            double? quantile = scalar["quantile"] is JsonValue q && q.TryGetValue<double>(out var v) && v >= 0.5 && v < 1 ? v : null;
            return new QuantizationSettings(QuantizationKind.Scalar, quantile, BinaryEncoding.OneBit, false, AlwaysRamOf(scalar));
        }

        if (obj["binary"] is JsonObject binary)
        {
            var encoding = (binary["encoding"] as JsonValue)?.GetValue<string>() switch
            {
                "two_bits" => BinaryEncoding.TwoBits,
                "one_and_half_bits" => BinaryEncoding.OneAndHalfBits,
                _ => BinaryEncoding.OneBit,
            };
            var asymmetric = (binary["query_encoding"] as JsonValue)?.GetValue<string>() is "scalar4bits" or "scalar8bits";
            return new QuantizationSettings(QuantizationKind.Binary, null, encoding, asymmetric, AlwaysRamOf(binary));
        }

        if (obj["product"] is JsonObject product)
        {
            var ratio = (product["compression"] as JsonValue)?.GetValue<string>() switch
            {
                "x4" => 4,
                "x8" => 8,
                "x32" => 32,
                "x64" => 64,
                _ => 16,
            };
            return new QuantizationSettings(QuantizationKind.Product, null, BinaryEncoding.OneBit, false, AlwaysRamOf(product)) { Compression = ratio };
        }

        return null;
    }

    private static bool AlwaysRamOf(JsonObject settings) => settings["memory"] is JsonValue m && m.TryGetValue<string>(out var placement)
        ? placement != "cold"
        : settings["always_ram"] is JsonValue a && a.TryGetValue<bool>(out var ram) && ram;

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
            case "binary":
                CheckBinary(settings, $"{path}.binary");
                break;
            case "product":
                CheckProduct(settings, $"{path}.product");
                break;
            case "turbo":
                throw QuiverException.BadInput($"{path}.{kind}: {kind} quantization is not supported yet; use scalar, binary or product");
            default:
                throw QuiverException.BadInput($"{path}: unknown quantization '{kind}'; expected one of scalar, product, binary");
        }
    }

    private static void CheckProduct(JsonElement product, string path)
    {
        if (product.ValueKind != JsonValueKind.Object)
            throw QuiverException.BadInput($"{path}: expected an object");
        if (!product.TryGetProperty("compression", out var compression) || compression.ValueKind == JsonValueKind.Null)
            throw QuiverException.BadInput($"{path}.compression: missing field `compression` (one of x4, x8, x16, x32, x64)");
        foreach (var field in product.EnumerateObject())
        {
            if (field.Name == "compression")
                CheckOneOf(field.Value, $"{path}.compression", "x4", "x8", "x16", "x32", "x64");
            else if (!CheckPlacement(field, path))
                throw QuiverException.BadInput($"{path}.{field.Name}: unknown setting; expected compression, always_ram, memory");
        }
    }

    private static void CheckBinary(JsonElement binary, string path)
    {
        if (binary.ValueKind != JsonValueKind.Object)
            throw QuiverException.BadInput($"{path}: expected an object");
        foreach (var field in binary.EnumerateObject())
        {
            var value = field.Value;
            switch (field.Name)
            {
                case "encoding":
                    CheckOneOf(value, $"{path}.encoding", "one_bit", "two_bits", "one_and_half_bits");
                    break;
                case "query_encoding":
                    CheckOneOf(value, $"{path}.query_encoding", "default", "binary", "scalar4bits", "scalar8bits");
                    break;
                default:
                    if (!CheckPlacement(field, path))
                        throw QuiverException.BadInput($"{path}.{field.Name}: unknown setting; expected encoding, query_encoding, always_ram, memory");
                    break;
            }
        }
    }

    /// <summary>Checks the placement settings every kind takes (always_ram, memory); false for any other field.</summary>
    private static bool CheckPlacement(JsonProperty field, string path)
    {
        switch (field.Name)
        {
            case "always_ram":
                if (field.Value.ValueKind is not (JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null))
                    throw QuiverException.BadInput($"{path}.always_ram: expected true or false");
                return true;
            case "memory":
                CheckOneOf(field.Value, $"{path}.memory", "cold", "cached", "pinned");
                return true;
            default:
                return false;
        }
    }

    private static void CheckOneOf(JsonElement value, string path, params string[] allowed)
    {
        if (value.ValueKind != JsonValueKind.Null && (value.ValueKind != JsonValueKind.String || !allowed.Contains(value.GetString())))
            throw QuiverException.BadInput($"{path}: expected one of {string.Join(", ", allowed)}");
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
                default:
                    if (!CheckPlacement(field, path))
                        throw QuiverException.BadInput($"{path}.{field.Name}: unknown setting; expected type, quantile, always_ram, memory");
                    break;
            }
        }
    }
}

/// <summary>The quantization kinds the engine builds.</summary>
public enum QuantizationKind
{
    Scalar,
    Binary,
    Product,
}
