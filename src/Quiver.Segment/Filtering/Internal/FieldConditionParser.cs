using System.Text.Json;
using Quiver.Segment.Payloads;

namespace Quiver.Segment.Filtering.Internal;

/// <summary>Parses a <c>FieldCondition</c> object (one that has a <c>key</c>).</summary>
internal static class FieldConditionParser
{
    public static FieldCondition Parse(JsonElement e, string path)
    {
        JsonPath? key = null;
        MatchCondition? match = null;
        NumberRange? range = null;
        DatetimeRange? datetimeRange = null;
        ValuesCount? valuesCount = null;
        bool? isEmpty = null, isNull = null;
        foreach (var p in e.EnumerateObject())
        {
            var at = $"{path}.{p.Name}";
            var isNullValue = p.Value.ValueKind == JsonValueKind.Null;
            switch (p.Name)
            {
                case "key":
                    key = JsonPath.Parse(JsonRead.String(p.Value, at), at);
                    break;
                case "match":
                    match = isNullValue ? null : ParseMatch(p.Value, at);
                    break;
                case "range":
                    if (!isNullValue)
                        ParseRange(p.Value, at, out range, out datetimeRange);
                    break;
                case "values_count":
                    valuesCount = isNullValue ? null : ParseValuesCount(p.Value, at);
                    break;
                case "is_empty":
                    isEmpty = isNullValue ? null : JsonRead.Bool(p.Value, at);
                    break;
                case "is_null":
                    isNull = isNullValue ? null : JsonRead.Bool(p.Value, at);
                    break;
                case "geo_bounding_box" or "geo_radius" or "geo_polygon":
                    if (!isNullValue)
                        throw JsonRead.Bad(at, "geo filters are not supported yet");
                    break;
                default:
                    throw JsonRead.Unknown(path, p.Name);
            }
        }

        if (key is null)
            throw JsonRead.Bad(path, "missing field `key`");
        if (match is null && range is null && datetimeRange is null && valuesCount is null && isEmpty is null &&
            isNull is null)
        {
            // Qdrant's validation: "At least one field condition must be specified".
            throw JsonRead.Bad(path, "at least one field condition must be specified");
        }

        return new FieldCondition(key, match, range, datetimeRange, valuesCount, isEmpty, isNull);
    }

    private static MatchCondition ParseMatch(JsonElement e, string path)
    {
        JsonRead.RequireObject(e, path);
        MatchCondition? result = null;
        foreach (var p in e.EnumerateObject())
        {
            var at = $"{path}.{p.Name}";
            if (result is not null)
                throw JsonRead.Bad(path, $"unexpected field `{p.Name}`: a match has exactly one of value, any, except, text, text_any, phrase, prefix");
            result = p.Name switch
            {
                "value" => ParseValue(p.Value, at),
                "any" => ParseAny(p.Value, at, isExcept: false),
                "except" => ParseAny(p.Value, at, isExcept: true),
                "text" => new MatchText(MatchTextKind.Text, JsonRead.String(p.Value, at)),
                "text_any" => new MatchText(MatchTextKind.TextAny, JsonRead.String(p.Value, at)),
                "phrase" => new MatchText(MatchTextKind.Phrase, JsonRead.String(p.Value, at)),
                "prefix" => new MatchText(MatchTextKind.Prefix, JsonRead.String(p.Value, at)),
                _ => throw JsonRead.Unknown(path, p.Name),
            };
        }

        return result ?? throw JsonRead.Bad(path, "expected one of value, any, except, text, text_any, phrase, prefix");
    }

    private static MatchValue ParseValue(JsonElement e, string path) => e.ValueKind switch
    {
        JsonValueKind.String => MatchValue.OfKeyword(e.GetString()!),
        JsonValueKind.True => MatchValue.OfBool(true),
        JsonValueKind.False => MatchValue.OfBool(false),
        JsonValueKind.Number when e.TryGetInt64(out var n) => MatchValue.OfInteger(n),
        _ => throw JsonRead.Bad(path, "expected a string, an integer or a boolean"),
    };

    private static MatchAny ParseAny(JsonElement e, string path, bool isExcept)
    {
        if (e.ValueKind != JsonValueKind.Array)
            throw JsonRead.Bad(path, "expected a list of strings or a list of integers");
        List<string>? keywords = null;
        List<long>? integers = null;
        var i = 0;
        foreach (var item in e.EnumerateArray())
        {
            var at = $"{path}[{i++}]";
            if (item.ValueKind == JsonValueKind.String && integers is null)
            {
                keywords ??= [];
                keywords.Add(item.GetString()!);
            }
            else if (item.ValueKind == JsonValueKind.Number && item.TryGetInt64(out var n) && keywords is null)
            {
                integers ??= [];
                integers.Add(n);
            }
            else
            {
                throw JsonRead.Bad(at, keywords is not null ? "expected a string" :
                    integers is not null ? "expected an integer" : "expected a string or an integer");
            }
        }

        return new MatchAny(keywords, integers, isExcept);
    }

    // Qdrant's RangeInterface is untagged: numeric bounds make a float range, string bounds a datetime range.
    private static void ParseRange(JsonElement e, string path, out NumberRange? range, out DatetimeRange? datetime)
    {
        JsonRead.RequireObject(e, path);
        range = null;
        datetime = null;
        bool? isDatetime = null;
        var numbers = new double?[4];
        var instants = new long?[4];
        foreach (var p in e.EnumerateObject())
        {
            var at = $"{path}.{p.Name}";
            var slot = p.Name switch
            {
                "lt" => 0,
                "gt" => 1,
                "gte" => 2,
                "lte" => 3,
                _ => throw JsonRead.Unknown(path, p.Name),
            };
            if (p.Value.ValueKind == JsonValueKind.Null)
                continue;
            isDatetime ??= p.Value.ValueKind == JsonValueKind.String;
            if (isDatetime.Value)
            {
                if (!QdrantDateTime.TryParse(p.Value, out var micros))
                    throw JsonRead.Bad(at, "expected an RFC 3339 date-time string");
                instants[slot] = micros;
            }
            else
            {
                numbers[slot] = JsonRead.Number(p.Value, at);
            }
        }

        if (isDatetime == true)
            datetime = new DatetimeRange(instants[0], instants[1], instants[2], instants[3]);
        else
            range = new NumberRange(numbers[0], numbers[1], numbers[2], numbers[3]);
    }

    private static ValuesCount ParseValuesCount(JsonElement e, string path)
    {
        JsonRead.RequireObject(e, path);
        var bounds = new long?[4];
        foreach (var p in e.EnumerateObject())
        {
            var slot = p.Name switch
            {
                "lt" => 0,
                "gt" => 1,
                "gte" => 2,
                "lte" => 3,
                _ => throw JsonRead.Unknown(path, p.Name),
            };
            if (p.Value.ValueKind != JsonValueKind.Null)
                bounds[slot] = JsonRead.UInt(p.Value, $"{path}.{p.Name}");
        }

        return new ValuesCount(bounds[0], bounds[1], bounds[2], bounds[3]);
    }
}
