using System.Text.Json;
using Quiver.Segment.Errors;
using Quiver.Segment.Filtering.Internal;
using Quiver.Segment.Payloads;
using Quiver.Segment.Points;

namespace Quiver.Segment.Filtering;

/// <summary>
/// Parses a Qdrant filter from request JSON. Unknown fields and wrong types are BadInput errors that name the
/// offending path (e.g. <c>filter.must[1].range.gt: expected a number</c>); nesting deeper than
/// <see cref="MaxDepth"/> filters is rejected.
/// </summary>
public static class FilterParser
{
    /// <summary>The deepest nesting of filters (nested filters, filters used as conditions) accepted.</summary>
    public const int MaxDepth = 64;

    public static Filter Parse(JsonElement element, string path = "filter") => ParseFilter(element, path, 1);

    /// <summary>Parses one condition (as found in a <c>must</c> list).</summary>
    public static Condition ParseCondition(JsonElement element, string path = "condition") =>
        ParseCondition(element, path, 1);

    internal static Filter ParseFilter(JsonElement e, string path, int depth)
    {
        if (depth > MaxDepth)
            throw QuiverException.BadInput($"{path}: filter nesting too deep (at most {MaxDepth} levels)");
        JsonRead.RequireObject(e, path);
        IReadOnlyList<Condition>? must = null, should = null, mustNot = null;
        MinShould? minShould = null;
        foreach (var p in e.EnumerateObject())
        {
            var at = $"{path}.{p.Name}";
            switch (p.Name)
            {
                case "must":
                    must = ParseClause(p.Value, at, depth);
                    break;
                case "should":
                    should = ParseClause(p.Value, at, depth);
                    break;
                case "must_not":
                    mustNot = ParseClause(p.Value, at, depth);
                    break;
                case "min_should":
                    minShould = ParseMinShould(p.Value, at, depth);
                    break;
                default:
                    throw JsonRead.Unknown(path, p.Name);
            }
        }

        return new Filter(must, should, mustNot, minShould);
    }

    private static List<Condition>? ParseClause(JsonElement e, string path, int depth)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Null:
                return null;
            case JsonValueKind.Object:
                return [ParseCondition(e, path, depth)];
            case JsonValueKind.Array:
                var list = new List<Condition>(e.GetArrayLength());
                var i = 0;
                foreach (var item in e.EnumerateArray())
                    list.Add(ParseCondition(item, $"{path}[{i++}]", depth));
                return list;
            default:
                throw JsonRead.Bad(path, "expected a condition or a list of conditions");
        }
    }

    private static MinShould? ParseMinShould(JsonElement e, string path, int depth)
    {
        if (e.ValueKind == JsonValueKind.Null)
            return null;
        JsonRead.RequireObject(e, path);
        List<Condition>? conditions = null;
        long? minCount = null;
        foreach (var p in e.EnumerateObject())
        {
            var at = $"{path}.{p.Name}";
            switch (p.Name)
            {
                case "conditions":
                    if (p.Value.ValueKind != JsonValueKind.Array)
                        throw JsonRead.Bad(at, "expected a list of conditions");
                    conditions = ParseClause(p.Value, at, depth);
                    break;
                case "min_count":
                    minCount = JsonRead.UInt(p.Value, at);
                    if (minCount < 1)
                        throw JsonRead.Bad(at, "must be at least 1");
                    break;
                default:
                    throw JsonRead.Unknown(path, p.Name);
            }
        }

        if (conditions is null)
            throw JsonRead.Bad(path, "missing field `conditions`");
        if (minCount is null)
            throw JsonRead.Bad(path, "missing field `min_count`");
        return new MinShould(conditions, (int)Math.Min(minCount.Value, int.MaxValue));
    }

    internal static Condition ParseCondition(JsonElement e, string path, int depth)
    {
        JsonRead.RequireObject(e, path);
        string? kind = null;
        foreach (var p in e.EnumerateObject())
        {
            switch (p.Name)
            {
                case "key":
                    return FieldConditionParser.Parse(e, path);
                case "is_empty" or "is_null" or "has_id" or "has_vector" or "nested" or "slice" or "quiver_shard_of":
                    kind ??= p.Name;
                    break;
                default:
                    break;
            }
        }

        if (kind is null)
            return new FilterCondition(ParseFilter(e, path, depth + 1));
        foreach (var p in e.EnumerateObject())
        {
            if (p.Name != kind)
                throw JsonRead.Unknown(path, p.Name);
        }

        var value = e.GetProperty(kind);
        var at = $"{path}.{kind}";
        return kind switch
        {
            "is_empty" => new IsEmptyCondition(ParsePayloadField(value, at)),
            "is_null" => new IsNullCondition(ParsePayloadField(value, at)),
            "has_id" => ParseHasId(value, at),
            "has_vector" => new HasVectorCondition(JsonRead.String(value, at)),
            "nested" => ParseNested(value, at, depth),
            "quiver_shard_of" => ParseShardRouting(value, at),
            _ => throw JsonRead.Bad(at, "slice conditions are not supported yet"),
        };
    }

    private static JsonPath ParsePayloadField(JsonElement e, string path)
    {
        JsonRead.RequireObject(e, path);
        JsonPath? key = null;
        foreach (var p in e.EnumerateObject())
        {
            if (p.Name != "key")
                throw JsonRead.Unknown(path, p.Name);
            key = JsonPath.Parse(JsonRead.String(p.Value, $"{path}.key"), $"{path}.key");
        }

        return key ?? throw JsonRead.Bad(path, "missing field `key`");
    }

    private static ShardRoutingCondition ParseShardRouting(JsonElement e, string path)
    {
        JsonRead.RequireObject(e, path);
        int? shards = null, shard = null;
        foreach (var p in e.EnumerateObject())
        {
            if (p.Name is not ("shard_number" or "shard") || p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt32(out var n) || n < 0)
                throw JsonRead.Bad($"{path}.{p.Name}", "expected shard_number and shard as integers");
            if (p.Name == "shard_number")
                shards = n;
            else
                shard = n;
        }

        return shards is >= 1 && shard is { } s && s < shards
            ? new ShardRoutingCondition(shards.Value, s)
            : throw JsonRead.Bad(path, "expected shard_number >= 1 and shard below it");
    }

    private static HasIdCondition ParseHasId(JsonElement e, string path)
    {
        if (e.ValueKind != JsonValueKind.Array)
            throw JsonRead.Bad(path, "expected a list of point ids");
        var ids = new HashSet<PointId>();
        var i = 0;
        foreach (var item in e.EnumerateArray())
            ids.Add(PointId.FromJson(item, $"{path}[{i++}]"));
        return new HasIdCondition(ids);
    }

    private static NestedCondition ParseNested(JsonElement e, string path, int depth)
    {
        JsonRead.RequireObject(e, path);
        JsonPath? key = null;
        Filter? filter = null;
        foreach (var p in e.EnumerateObject())
        {
            var at = $"{path}.{p.Name}";
            switch (p.Name)
            {
                case "key":
                    key = JsonPath.Parse(JsonRead.String(p.Value, at), at);
                    break;
                case "filter":
                    filter = ParseFilter(p.Value, at, depth + 1);
                    break;
                default:
                    throw JsonRead.Unknown(path, p.Name);
            }
        }

        if (key is null)
            throw JsonRead.Bad(path, "missing field `key`");
        if (filter is null)
            throw JsonRead.Bad(path, "missing field `filter`");
        return new NestedCondition(key, filter);
    }
}
