using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Quiver.Segment.Errors;
using Quiver.Segment.Segments;

namespace Quiver.Engine.Collections;

/// <summary>
/// A collection's configuration. Its canonical form is the JSON tree of Qdrant's <c>CollectionConfig</c>
/// (params, hnsw_config, optimizer_config, wal_config, quantization_config): that is what is persisted and
/// reported, so settings this engine does not act on yet survive round trips unchanged. The typed members are
/// the parts the engine uses, derived once when the config is built.
/// </summary>
public sealed partial class CollectionConfig
{
    public const int MaxDimension = 65_536;
    public const int MaxShards = 64;

    private CollectionConfig(JsonObject json)
    {
        Json = json;
        var parameters = (JsonObject)json["params"]!;
        ShardNumber = parameters["shard_number"]!.GetValue<int>();
        var spaces = new List<VectorSpace>();
        var multi = new List<VectorSpace>();
        if (parameters["vectors"] is JsonObject vectors)
        {
            if (IsSingleVectorParams(vectors))
            {
                HasUnnamedVector = true;
                (IsMulti(vectors) ? multi : spaces).Add(ReadSpace(string.Empty, vectors));
            }
            else
            {
                foreach (var (name, value) in vectors)
                    (IsMulti((JsonObject)value!) ? multi : spaces).Add(ReadSpace(name, (JsonObject)value!));
            }
        }

        VectorSpaces = spaces;
        MultiSpaces = multi;
        SparseSpaces = ReadSparseSpaces(parameters);
    }

    public JsonObject Json { get; }

    public int ShardNumber { get; }

    /// <summary>True when the collection has the single unnamed vector (addressed by the name "").</summary>
    public bool HasUnnamedVector { get; }

    public IReadOnlyList<VectorSpace> VectorSpaces { get; }

    private readonly ConcurrentDictionary<string, HnswSettings> _hnsw = new(StringComparer.Ordinal);

    /// <summary>The HNSW settings of a vector space: the collection's hnsw_config with the vector's own diff over it.</summary>
    /// <remarks>
    /// Computed once per config (configs are immutable). This sits on the query path, so reads take no lock;
    /// racing first calls may each compute the (identical) settings.
    /// </remarks>
    public HnswSettings HnswFor(string name) => _hnsw.GetOrAdd(name, static (n, config) => config.ComputeHnsw(n), this);

    private HnswSettings ComputeHnsw(string name)
    {
        var merged = (JsonObject)Json["hnsw_config"]!.DeepClone();
        if (FindVectorParamsIn((JsonObject)Json["params"]!, name)?["hnsw_config"] is JsonObject own)
        {
            foreach (var (key, value) in own)
                merged[key] = value?.DeepClone();
        }

        // `memory` (cold, cached, pinned) overrides the deprecated `on_disk`; only cold leaves the graph on disk.
        var onDisk = merged["memory"] is JsonValue memory && memory.TryGetValue<string>(out var placement)
            ? placement == "cold"
            : merged["on_disk"] is JsonValue flag && flag.TryGetValue<bool>(out var disk) && disk;
        return new HnswSettings(
            IntOf(merged, "m", 16),
            IntOf(merged, "ef_construct", 100),
            IntOf(merged, "full_scan_threshold", 10_000),
            IntOf(merged, "max_indexing_threads", 0),
            onDisk,
            IntOf(merged, "payload_m", 0));
    }

    private readonly ConcurrentDictionary<string, QuantizationSettings?> _quantization = new(StringComparer.Ordinal);

    /// <summary>
    /// The quantization of a vector space: the vector's own quantization_config when it has one, else the
    /// collection's (as in Qdrant, the vector's replaces it whole); null when off.
    /// </summary>
    public QuantizationSettings? QuantizationFor(string name) => _quantization.GetOrAdd(
        name,
        static (n, config) => QuantizationSettings.From(FindVectorParamsIn((JsonObject)config.Json["params"]!, n)?["quantization_config"] ?? config.Json["quantization_config"]),
        this);

    /// <summary>
    /// Whether a vector space's rows stay in their files, memory-mapped, once its segments are indexed: the vector's
    /// <c>memory</c> is <c>cold</c>, or (without <c>memory</c>) its deprecated <c>on_disk</c> is true.
    /// </summary>
    public bool VectorsOnDiskFor(string name) => FindVectorParamsIn((JsonObject)Json["params"]!, name) is { } own
        && (own["memory"] is JsonValue memory && memory.TryGetValue<string>(out var placement)
            ? placement == "cold"
            : own["on_disk"] is JsonValue flag && flag.TryGetValue<bool>(out var disk) && disk);

    /// <summary>
    /// Whether indexed segments leave their payloads in their points file, read when asked for (on_disk_payload;
    /// true unless set false, as in Qdrant).
    /// </summary>
    public bool PayloadsOnDisk => Json["params"]?["on_disk_payload"] is not JsonValue flag || !flag.TryGetValue<bool>(out var onDisk) || onDisk;

    /// <summary>A number from the optimizer_config, or <paramref name="fallback"/> when unset.</summary>
    public double OptimizerSetting(string key, double fallback) =>
        Json["optimizer_config"]?[key] is JsonValue v && v.TryGetValue<double>(out var d) ? d : fallback;

    private static int IntOf(JsonObject obj, string key, int fallback) =>
        obj[key] is JsonValue v && v.TryGetValue<long>(out var n) ? (int)Math.Clamp(n, 0, int.MaxValue) : fallback;

    public VectorSpace? FindSpace(string name)
    {
        foreach (var space in VectorSpaces)
        {
            if (space.Name == name)
                return space;
        }

        return null;
    }

    /// <summary>Builds a config from a create-collection request body, applying Qdrant's defaults.</summary>
    public static CollectionConfig FromCreateRequest(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object)
            throw QuiverException.BadInput("Format error in JSON body: expected an object");

        var parameters = new JsonObject
        {
            ["vectors"] = body.TryGetProperty("vectors", out var v) && v.ValueKind != JsonValueKind.Null
                ? ValidateVectors(v)
                : new JsonObject(),
            ["shard_number"] = ReadPositiveInt(body, "shard_number", 1, MaxShards),
            ["replication_factor"] = ReadPositiveInt(body, "replication_factor", 1, 16),
            ["write_consistency_factor"] = ReadPositiveInt(body, "write_consistency_factor", 1, 16),
            ["on_disk_payload"] = ReadBool(body, "on_disk_payload", true),
        };
        if (body.TryGetProperty("sparse_vectors", out var sparse) && sparse.ValueKind != JsonValueKind.Null)
            parameters["sparse_vectors"] = ValidateSparseVectors(sparse, (JsonObject)parameters["vectors"]!);

        var json = new JsonObject
        {
            ["params"] = parameters,
            ["hnsw_config"] = Merge(DefaultHnsw(), body, "hnsw_config"),
            ["optimizer_config"] = Merge(DefaultOptimizers(), body, "optimizers_config"),
            ["wal_config"] = Merge(DefaultWal(), body, "wal_config"),
            ["quantization_config"] = body.TryGetProperty("quantization_config", out var q) ? CheckedQuantization(q, "quantization_config", allowDisabled: false) : null,
        };
        if (body.TryGetProperty("metadata", out var metadata) && metadata.ValueKind == JsonValueKind.Object)
            json["metadata"] = JsonNode.Parse(metadata.GetRawText());
        return new CollectionConfig(json);
    }

    /// <summary>Loads a persisted config (already validated when it was created).</summary>
    public static CollectionConfig FromPersisted(JsonObject json) => new(json);

    /// <summary>
    /// Loads a persisted config from an untrusted source (a snapshot file), first putting it through every check a
    /// create request gets; BadInput when it would not have been accepted.
    /// </summary>
    public static CollectionConfig FromUntrusted(JsonObject json)
    {
        if (json["params"] is not JsonObject parameters)
            throw QuiverException.BadInput("config: `params` is missing");
        // shard_number is required here: the persisted form always has it, and a default would hide a damaged file.
        if (parameters["shard_number"] is null)
            throw QuiverException.BadInput("config: `params.shard_number` is missing");
        var request = new JsonObject();
        foreach (var (key, value) in new[]
        {
            ("vectors", parameters["vectors"]), ("sparse_vectors", parameters["sparse_vectors"]), ("shard_number", parameters["shard_number"]), ("replication_factor", parameters["replication_factor"]),
            ("write_consistency_factor", parameters["write_consistency_factor"]), ("on_disk_payload", parameters["on_disk_payload"]),
            ("hnsw_config", json["hnsw_config"]), ("optimizers_config", json["optimizer_config"]), ("wal_config", json["wal_config"]),
        })
        {
            if (value is not null)
                request[key] = value.DeepClone();
        }

        using (var doc = JsonDocument.Parse(request.ToJsonString()))
            FromCreateRequest(doc.RootElement);
        return new CollectionConfig(json);
    }

    /// <summary>Applies an update-collection (PATCH) body: diffs merge into the current settings.</summary>
    public CollectionConfig ApplyUpdate(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object)
            throw QuiverException.BadInput("Format error in JSON body: expected an object");
        var json = (JsonObject)Json.DeepClone();
        var parameters = (JsonObject)json["params"]!;
        if (body.TryGetProperty("vectors", out var vectorsDiff) && vectorsDiff.ValueKind != JsonValueKind.Null)
        {
            if (vectorsDiff.ValueKind != JsonValueKind.Object)
                throw QuiverException.BadInput("vectors: expected an object of vector names");
            foreach (var entry in vectorsDiff.EnumerateObject())
            {
                var target = FindVectorParams(parameters, entry.Name)
                    ?? throw QuiverException.BadInput($"Wrong input: Not existing vector name error: {entry.Name}");
                if (entry.Value.ValueKind != JsonValueKind.Object)
                    throw QuiverException.BadInput($"vectors.{entry.Name}: expected an object");
                CheckVectorPlacement(entry.Value, $"vectors.{entry.Name}");
                foreach (var field in entry.Value.EnumerateObject())
                {
                    // VectorParamsDiff: the storage-shaping fields (size, distance, datatype) are fixed at creation.
                    if (field.Name is not ("hnsw_config" or "quantization_config" or "on_disk" or "memory"))
                        throw QuiverException.BadInput($"vectors.{entry.Name}.{field.Name}: cannot be changed on an existing collection; updatable: hnsw_config, quantization_config, on_disk, memory");
                    if (field.Name == "hnsw_config" && field.Value.ValueKind != JsonValueKind.Null)
                        CheckHnswConfig(field.Value, $"vectors.{entry.Name}.hnsw_config");
                    if (field.Name == "quantization_config")
                    {
                        target[field.Name] = CheckedQuantization(field.Value, $"vectors.{entry.Name}.quantization_config", allowDisabled: true);
                        continue;
                    }

                    target[field.Name] = JsonNode.Parse(field.Value.GetRawText());
                }
            }
        }

        if (body.TryGetProperty("sparse_vectors", out var sparseDiff) && sparseDiff.ValueKind != JsonValueKind.Null)
            ApplySparseUpdate(parameters, sparseDiff);

        if (body.TryGetProperty("params", out var paramsDiff) && paramsDiff.ValueKind != JsonValueKind.Null)
        {
            if (paramsDiff.ValueKind != JsonValueKind.Object)
                throw QuiverException.BadInput("params: expected an object");
            foreach (var field in paramsDiff.EnumerateObject())
            {
                switch (field.Name)
                {
                    case "replication_factor" or "write_consistency_factor":
                        parameters[field.Name] = ReadPositiveInt(paramsDiff, field.Name, 1, 16);
                        break;
                    case "on_disk_payload":
                        parameters[field.Name] = ReadBool(paramsDiff, field.Name, true);
                        break;
                    case "read_fan_out_factor" or "read_fan_out_delay_ms":
                        parameters[field.Name] = JsonNode.Parse(field.Value.GetRawText());
                        break;
                    default:
                        // CollectionParamsDiff has no way to change vectors or shard_number in place.
                        throw QuiverException.BadInput($"params.{field.Name}: cannot be changed on an existing collection; updatable: replication_factor, write_consistency_factor, on_disk_payload, read_fan_out_factor, read_fan_out_delay_ms");
                }
            }
        }

        json["hnsw_config"] = Merge((JsonObject)json["hnsw_config"]!.DeepClone(), body, "hnsw_config");
        json["optimizer_config"] = Merge((JsonObject)json["optimizer_config"]!.DeepClone(), body, "optimizers_config");
        // As in Qdrant, null leaves it unchanged and "Disabled" turns it off.
        if (body.TryGetProperty("quantization_config", out var q) && q.ValueKind != JsonValueKind.Null)
            json["quantization_config"] = CheckedQuantization(q, "quantization_config", allowDisabled: true);
        if (body.TryGetProperty("metadata", out var metadata) && metadata.ValueKind == JsonValueKind.Object)
        {
            if (json["metadata"] is not JsonObject merged)
                json["metadata"] = merged = [];
            foreach (var field in metadata.EnumerateObject())
                merged[field.Name] = JsonNode.Parse(field.Value.GetRawText());
        }

        return new CollectionConfig(json);
    }

    private static JsonObject? FindVectorParamsIn(JsonObject parameters, string name) => FindVectorParams(parameters, name);

    private static JsonObject? FindVectorParams(JsonObject parameters, string name)
    {
        if (parameters["vectors"] is not JsonObject vectors)
            return null;
        if (IsSingleVectorParams(vectors))
            return name.Length == 0 ? vectors : null;
        return vectors[name] as JsonObject;
    }

    private static bool IsSingleVectorParams(JsonObject vectors) =>
        vectors.ContainsKey("size") || vectors.ContainsKey("distance");

    private static VectorSpace ReadSpace(string name, JsonObject json)
    {
        DistanceNames.TryParse(json["distance"]!.GetValue<string>(), out var distance);
        var datatype = json["datatype"] is JsonValue value && value.TryGetValue<string>(out var text) && DatatypeNames.TryParse(text, out var parsed)
            ? parsed
            : VectorDatatype.Float32;
        return new VectorSpace(name, json["size"]!.GetValue<int>(), distance, datatype);
    }

    private static JsonObject ValidateVectors(JsonElement vectors)
    {
        if (vectors.ValueKind != JsonValueKind.Object)
            throw QuiverException.BadInput("vectors: expected an object with size and distance, or a map of named vector parameters");
        if (vectors.TryGetProperty("size", out _) || vectors.TryGetProperty("distance", out _))
            return ValidateVectorParams(vectors, "vectors");

        var named = new JsonObject();
        foreach (var entry in vectors.EnumerateObject())
        {
            if (entry.Name.Length == 0 || entry.Name.Length > 255)
                throw QuiverException.BadInput("vectors: vector names must be 1 to 255 characters long");
            named[entry.Name] = ValidateVectorParams(entry.Value, $"vectors.{entry.Name}");
        }

        return named;
    }

    private static JsonObject ValidateVectorParams(JsonElement p, string path)
    {
        if (p.ValueKind != JsonValueKind.Object)
            throw QuiverException.BadInput($"{path}: expected an object with size and distance");
        if (!p.TryGetProperty("size", out var size) || size.ValueKind != JsonValueKind.Number
            || !size.TryGetInt64(out var dim) || dim < 1 || dim > MaxDimension)
        {
            throw QuiverException.BadInput($"{path}.size: expected an integer from 1 to {MaxDimension}");
        }

        if (!p.TryGetProperty("distance", out var distance) || distance.ValueKind != JsonValueKind.String
            || !DistanceNames.TryParse(distance.GetString(), out _))
        {
            throw QuiverException.BadInput($"{path}.distance: expected one of Cosine, Dot, Euclid, Manhattan");
        }

        if (p.TryGetProperty("datatype", out var datatype) && datatype.ValueKind != JsonValueKind.Null)
        {
            if (datatype.ValueKind != JsonValueKind.String || !DatatypeNames.TryParse(datatype.GetString(), out var parsed))
                throw QuiverException.BadInput($"{path}.datatype: expected one of float32, float16, uint8");
            // Cosine vectors are stored normalised: components in [-1, 1] do not survive a cast to 0..255.
            if (parsed == VectorDatatype.UInt8 && distance.GetString() == "Cosine")
                throw QuiverException.BadInput($"{path}.datatype: uint8 vectors take the Dot, Euclid or Manhattan distance; Cosine vectors are stored normalised, which uint8 components cannot hold");
        }

        CheckVectorPlacement(p, path);
        if (p.TryGetProperty("multivector_config", out var multi) && multi.ValueKind != JsonValueKind.Null)
            CheckMultivectorConfig(p, multi, $"{path}.multivector_config");

        if (p.TryGetProperty("hnsw_config", out var hnsw) && hnsw.ValueKind != JsonValueKind.Null)
            CheckHnswConfig(hnsw, $"{path}.hnsw_config");
        if (p.TryGetProperty("quantization_config", out var quantization))
            QuantizationSettings.Check(quantization, $"{path}.quantization_config", allowDisabled: false);

        var result = (JsonObject)JsonNode.Parse(p.GetRawText())!;
        result["size"] = (int)dim;
        return result;
    }

    /// <summary>A vector's on_disk (true or false) and memory (cold or cached; pinned is not for dense vectors, as in Qdrant).</summary>
    private static void CheckVectorPlacement(JsonElement p, string path)
    {
        if (p.TryGetProperty("on_disk", out var onDisk) && onDisk.ValueKind is not (JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null))
            throw QuiverException.BadInput($"{path}.on_disk: expected true or false");
        if (p.TryGetProperty("memory", out var memory) && memory.ValueKind != JsonValueKind.Null
            && (memory.ValueKind != JsonValueKind.String || memory.GetString() is not ("cold" or "cached")))
        {
            throw QuiverException.BadInput($"{path}.memory: expected cold or cached (pinned is not supported for dense vectors)");
        }
    }

    /// <summary>What each known setting of a config section must be; null always means "unset".</summary>
    private enum SettingKind
    {
        Integer,
        Number,
        Boolean,
        Text,
    }

    private static readonly Dictionary<string, SettingKind> HnswKinds = new(StringComparer.Ordinal)
    {
        ["m"] = SettingKind.Integer,
        ["ef_construct"] = SettingKind.Integer,
        ["full_scan_threshold"] = SettingKind.Integer,
        ["max_indexing_threads"] = SettingKind.Integer,
        ["payload_m"] = SettingKind.Integer,
        ["on_disk"] = SettingKind.Boolean,
        ["inline_storage"] = SettingKind.Boolean,
        ["memory"] = SettingKind.Text,
    };

    private static readonly Dictionary<string, Dictionary<string, SettingKind>> SectionKinds = new(StringComparer.Ordinal)
    {
        ["optimizers_config"] = new(StringComparer.Ordinal)
        {
            ["deleted_threshold"] = SettingKind.Number,
            ["vacuum_min_vector_number"] = SettingKind.Integer,
            ["default_segment_number"] = SettingKind.Integer,
            ["max_segment_size"] = SettingKind.Integer,
            ["memmap_threshold"] = SettingKind.Integer,
            ["indexing_threshold"] = SettingKind.Integer,
            ["flush_interval_sec"] = SettingKind.Integer,
            ["max_optimization_threads"] = SettingKind.Integer,
        },
        ["wal_config"] = new(StringComparer.Ordinal)
        {
            ["wal_capacity_mb"] = SettingKind.Integer,
            ["wal_segments_ahead"] = SettingKind.Integer,
            ["wal_retain_closed"] = SettingKind.Integer,
        },
    };

    /// <summary>
    /// Known settings must have their kind (an integer where one is read, and so on): a value of another kind
    /// would be stored, shown back, and silently read as the default.
    /// </summary>
    private static void CheckKinds(JsonElement section, string path, Dictionary<string, SettingKind> kinds)
    {
        foreach (var field in section.EnumerateObject())
        {
            if (field.Value.ValueKind == JsonValueKind.Null || !kinds.TryGetValue(field.Name, out var kind))
                continue;
            var value = field.Value;
            var ok = kind switch
            {
                SettingKind.Integer => value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out _),
                SettingKind.Number => value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var d) && double.IsFinite(d),
                SettingKind.Boolean => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
                _ => value.ValueKind == JsonValueKind.String,
            };
            if (!ok)
                throw QuiverException.BadInput($"{path}.{field.Name}: expected {Describe(kind)}");
        }
    }

    private static string Describe(SettingKind kind) => kind switch
    {
        SettingKind.Integer => "an integer",
        SettingKind.Number => "a number",
        SettingKind.Boolean => "true or false",
        _ => "a string",
    };

    /// <summary>Graph degrees a build can take: m and payload_m 0 (off) or up to <see cref="MaxGraphDegree"/>.</summary>
    private static void CheckHnswConfig(JsonElement hnsw, string path)
    {
        if (hnsw.ValueKind != JsonValueKind.Object)
            throw QuiverException.BadInput($"{path}: expected an object");
        CheckKinds(hnsw, path, HnswKinds);
        foreach (var name in (string[])["m", "payload_m"])
        {
            if (hnsw.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number
                && (!value.TryGetInt64(out var n) || n < 0 || n > MaxGraphDegree))
            {
                throw QuiverException.BadInput($"{path}.{name}: expected an integer from 0 to {MaxGraphDegree}");
            }
        }
    }

    /// <summary>A checked quantization_config as stored: null for null or "Disabled" (quantization off).</summary>
    private static JsonNode? CheckedQuantization(JsonElement config, string path, bool allowDisabled)
    {
        QuantizationSettings.Check(config, path, allowDisabled);
        return config.ValueKind == JsonValueKind.Object ? JsonNode.Parse(config.GetRawText()) : null;
    }

    /// <summary>The largest m (links per node) an HNSW graph is built with.</summary>
    private const int MaxGraphDegree = 512;

    private static int ReadPositiveInt(JsonElement body, string name, int fallback, int max)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            return fallback;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var n) || n < 1 || n > max)
            throw QuiverException.BadInput($"{name}: expected an integer from 1 to {max}");
        return n;
    }

    private static bool ReadBool(JsonElement body, string name, bool fallback)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            return fallback;
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw QuiverException.BadInput($"{name}: expected a boolean"),
        };
    }

    private static JsonObject Merge(JsonObject defaults, JsonElement body, string name)
    {
        if (!body.TryGetProperty(name, out var diff) || diff.ValueKind == JsonValueKind.Null)
            return defaults;
        if (diff.ValueKind != JsonValueKind.Object)
            throw QuiverException.BadInput($"{name}: expected an object");
        if (name == "hnsw_config")
            CheckHnswConfig(diff, name);
        else if (SectionKinds.TryGetValue(name, out var kinds))
            CheckKinds(diff, name, kinds);
        foreach (var field in diff.EnumerateObject())
        {
            if (field.Value.ValueKind == JsonValueKind.Number && field.Value.TryGetDouble(out var d) && d < 0)
                throw QuiverException.BadInput($"{name}.{field.Name}: must not be negative");
            defaults[field.Name] = JsonNode.Parse(field.Value.GetRawText());
        }

        return defaults;
    }

    // Qdrant 1.19's defaults, so clients reading the config see familiar values.
    private static JsonObject DefaultHnsw() => new()
    {
        ["m"] = 16,
        ["ef_construct"] = 100,
        ["full_scan_threshold"] = 10000,
        ["max_indexing_threads"] = 0,
        ["on_disk"] = false,
    };

    private static JsonObject DefaultOptimizers() => new()
    {
        ["deleted_threshold"] = 0.2,
        ["vacuum_min_vector_number"] = 1000,
        ["default_segment_number"] = 0,
        ["max_segment_size"] = null,
        ["memmap_threshold"] = null,
        ["indexing_threshold"] = 10000,
        ["flush_interval_sec"] = 5,
        ["max_optimization_threads"] = null,
    };

    private static JsonObject DefaultWal() => new()
    {
        ["wal_capacity_mb"] = 32,
        ["wal_segments_ahead"] = 0,
    };
}
