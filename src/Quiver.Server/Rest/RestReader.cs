using System.Text;
using System.Text.Json;
using Quiver.Engine.Operations;
using Quiver.Engine.Query;
using Quiver.Segment.Errors;
using Quiver.Segment.Filtering;
using Quiver.Segment.Payloads;
using Quiver.Segment.Points;
using Quiver.Segment.Segments;

namespace Quiver.Server.Rest;

/// <summary>Translates Qdrant's REST request shapes into engine requests, naming the field on every error.</summary>
internal static class RestReader
{
    /// <summary>Reads an optional field; <paramref name="obj"/> must be an object (BadInput otherwise).</summary>
    public static bool TryGet(JsonElement obj, string name, out JsonElement value, string path = "")
    {
        if (obj.ValueKind != JsonValueKind.Object)
            throw QuiverException.BadInput($"Format error in JSON body: {(path.Length == 0 ? "body" : path)}: expected an object, got {Kind(obj)}");
        return obj.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null;
    }

    private static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };

    public static JsonElement Required(JsonElement obj, string name, string path)
    {
        if (!TryGet(obj, name, out var value, path))
            throw QuiverException.BadInput($"Format error in JSON body: {Join(path, name)}: missing field `{name}`");
        return value;
    }

    public static int Int(JsonElement obj, string name, int fallback, int min, int max, string path = "")
    {
        if (!TryGet(obj, name, out var v, path))
            return fallback;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out var n))
            throw OutOfRange(Join(path, name), min, max);
        return InRange(n, Join(path, name), min, max);
    }

    /// <summary>An integer setting checked against its bounds, with the message every transport gives.</summary>
    public static int InRange(long n, string name, int min, int max) => n < min || n > max ? throw OutOfRange(name, min, max) : (int)n;

    private static QuiverException OutOfRange(string name, int min, int max) =>
        QuiverException.BadInput($"Format error in JSON body: {name}: expected an integer from {min} to {max}");

    public static bool Bool(JsonElement obj, string name, bool fallback, string path = "")
    {
        if (!TryGet(obj, name, out var v, path))
            return fallback;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw QuiverException.BadInput($"Format error in JSON body: {Join(path, name)}: expected a boolean"),
        };
    }

    /// <summary>
    /// <c>params.quantization</c>: <c>{ignore, rescore, oversampling}</c>, all optional; oversampling is a number of
    /// at least 1 (Qdrant's minimum), capped so a query cannot ask for an unbounded candidate list.
    /// </summary>
    public static QuantizationSearch Quantization(JsonElement searchParams, string path)
    {
        if (!TryGet(searchParams, "quantization", out var q, path))
            return default;
        var at = Join(path, "quantization");
        var ignore = Bool(q, "ignore", false, at);
        bool? rescore = TryGet(q, "rescore", out _, at) ? Bool(q, "rescore", true, at) : null;
        var oversampling = 0d;
        if (TryGet(q, "oversampling", out var o, at))
        {
            if (o.ValueKind != JsonValueKind.Number || !o.TryGetDouble(out oversampling))
                throw QuiverException.BadInput($"Format error in JSON body: {at}.oversampling: expected a number");
            oversampling = CheckOversampling(oversampling, $"{at}.oversampling");
        }

        return new QuantizationSearch(ignore, rescore, oversampling);
    }

    /// <summary>The largest oversampling factor a query may ask for.</summary>
    public const double MaxOversampling = 100;

    /// <summary>An oversampling factor from 1 to <see cref="MaxOversampling"/>, with the message every transport gives.</summary>
    public static double CheckOversampling(double value, string name) =>
        value is >= 1 and <= MaxOversampling
            ? value
            : throw QuiverException.BadInput($"Format error in JSON body: {name}: expected a number from 1 to {MaxOversampling}");

    public static string String(JsonElement value, string path) =>
        value.ValueKind == JsonValueKind.String ? value.GetString()! : throw QuiverException.BadInput($"Format error in JSON body: {path}: expected a string");

    public static PointId[] Ids(JsonElement array, string path)
    {
        if (array.ValueKind != JsonValueKind.Array)
            throw QuiverException.BadInput($"Format error in JSON body: {path}: expected an array of point ids");
        var ids = new PointId[array.GetArrayLength()];
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            ids[i] = PointId.FromJson(item, $"{path}[{i}]");
            i++;
        }

        return ids;
    }


    /// <summary>Upsert body: <c>{"points":[...]}</c> or the columnar <c>{"batch":{ids, vectors, payloads}}</c>.</summary>
    public static PointWrite[] Upsert(JsonElement body, Inference.DocumentVectors? documents = null)
    {
        if (TryGet(body, "points", out var points))
        {
            if (points.ValueKind != JsonValueKind.Array)
                throw QuiverException.BadInput("Format error in JSON body: points: expected an array");
            var result = new PointWrite[points.GetArrayLength()];
            var i = 0;
            foreach (var p in points.EnumerateArray())
            {
                var path = $"points[{i}]";
                if (p.ValueKind != JsonValueKind.Object)
                    throw QuiverException.BadInput($"Format error in JSON body: {path}: expected an object");
                var id = PointId.FromJson(Required(p, "id", path), $"{path}.id");
                var vectors = TryGet(p, "vector", out var v) ? PointJson.VectorStruct(v, $"{path}.vector", documents is null ? null : documents.Vector) : [];
                var payload = TryGet(p, "payload", out var pl) ? PointJson.PayloadObject(pl, $"{path}.payload") : Payload.Empty;
                result[i++] = new PointWrite(id, vectors, payload);
            }

            return result;
        }

        if (TryGet(body, "batch", out var batch))
            return Batch(batch, documents);
        throw QuiverException.BadInput("Format error in JSON body: expected `points` (a list of points) or `batch` (ids, vectors, payloads)");
    }

    private static PointWrite[] Batch(JsonElement batch, Inference.DocumentVectors? documents)
    {
        var ids = Ids(Required(batch, "ids", "batch"), "batch.ids");
        var vectors = new NamedVector[ids.Length][];
        for (var i = 0; i < ids.Length; i++)
            vectors[i] = [];
        if (TryGet(batch, "vectors", out var v))
        {
            if (v.ValueKind == JsonValueKind.Array)
            {
                CheckLength(v, ids.Length, "batch.vectors");
                var i = 0;
                foreach (var row in v.EnumerateArray())
                {
                    vectors[i] = [PointJson.Entry(string.Empty, row, $"batch.vectors[{i}]", documents is null ? null : documents.Vector)];
                    i++;
                }
            }
            else if (v.ValueKind == JsonValueKind.Object)
            {
                var lists = new List<NamedVector>[ids.Length];
                foreach (var named in v.EnumerateObject())
                {
                    CheckLength(named.Value, ids.Length, $"batch.vectors.{named.Name}");
                    var i = 0;
                    foreach (var row in named.Value.EnumerateArray())
                    {
                        (lists[i] ??= []).Add(PointJson.Entry(named.Name, row, $"batch.vectors.{named.Name}[{i}]", documents is null ? null : documents.Vector));
                        i++;
                    }
                }

                for (var i = 0; i < ids.Length; i++)
                    vectors[i] = lists[i] is { } l ? [.. l] : [];
            }
            else
            {
                throw QuiverException.BadInput("Format error in JSON body: batch.vectors: expected an array of vectors or an object of named vector arrays");
            }
        }

        var payloads = new Payload[ids.Length];
        Array.Fill(payloads, Payload.Empty);
        if (TryGet(batch, "payloads", out var pls))
        {
            CheckLength(pls, ids.Length, "batch.payloads");
            var i = 0;
            foreach (var pl in pls.EnumerateArray())
            {
                payloads[i] = PointJson.PayloadObject(pl, $"batch.payloads[{i}]");
                i++;
            }
        }

        var result = new PointWrite[ids.Length];
        for (var i = 0; i < ids.Length; i++)
            result[i] = new PointWrite(ids[i], vectors[i], payloads[i]);
        return result;
    }

    private static void CheckLength(JsonElement array, int expected, string path)
    {
        if (array.ValueKind != JsonValueKind.Array)
            throw QuiverException.BadInput($"Format error in JSON body: {path}: expected an array");
        if (array.GetArrayLength() != expected)
            throw QuiverException.BadInput($"Wrong input: {path} has {array.GetArrayLength()} items, batch.ids has {expected}");
    }

    public static (Filter Parsed, FilterSpec Spec)? OptionalFilter(JsonElement obj, string name = "filter")
    {
        if (obj.ValueKind != JsonValueKind.Object || !TryGet(obj, name, out var f))
            return null;
        return (FilterParser.Parse(f, name), new FilterSpec(Encoding.UTF8.GetBytes(f.GetRawText())));
    }

    /// <summary>A points selector: <c>{"points":[ids]}</c> or <c>{"filter":{...}}</c>.</summary>
    public static PointSelector Selector(JsonElement body)
    {
        if (TryGet(body, "points", out var points))
            return PointSelector.ByIds(Ids(points, "points"));
        if (OptionalFilter(body) is { } filter)
            return PointSelector.ByFilter(filter.Spec);
        throw QuiverException.BadInput("Format error in JSON body: expected `points` (a list of ids) or `filter`");
    }

    public static WithPayload WithPayload(JsonElement obj, bool fallback)
    {
        if (!TryGet(obj, "with_payload", out var v))
            return fallback ? Engine.Query.WithPayload.All : Engine.Query.WithPayload.None;
        switch (v.ValueKind)
        {
            case JsonValueKind.True: return Engine.Query.WithPayload.All;
            case JsonValueKind.False: return Engine.Query.WithPayload.None;
            case JsonValueKind.Array: return new WithPayload(true, Strings(v, "with_payload"));
            case JsonValueKind.Object:
                if (TryGet(v, "include", out var inc))
                    return new WithPayload(true, Include: Strings(inc, "with_payload.include"));
                if (TryGet(v, "exclude", out var exc))
                    return new WithPayload(true, Exclude: Strings(exc, "with_payload.exclude"));
                break;
        }

        throw QuiverException.BadInput("Format error in JSON body: with_payload: expected a boolean, a list of keys, or {include|exclude: [...]}");
    }

    public static WithVector WithVector(JsonElement obj, bool fallback, string name = "with_vector")
    {
        if (!TryGet(obj, name, out var v) && !(name == "with_vector" && TryGet(obj, "with_vectors", out v)))
            return fallback ? Engine.Query.WithVector.All : Engine.Query.WithVector.None;
        return v.ValueKind switch
        {
            JsonValueKind.True => Engine.Query.WithVector.All,
            JsonValueKind.False => Engine.Query.WithVector.None,
            JsonValueKind.Array => new WithVector(true, Strings(v, name)),
            _ => throw QuiverException.BadInput($"Format error in JSON body: {name}: expected a boolean or a list of vector names"),
        };
    }

    public static string[] Strings(JsonElement array, string path)
    {
        if (array.ValueKind != JsonValueKind.Array)
            throw QuiverException.BadInput($"Format error in JSON body: {path}: expected an array of strings");
        var result = new string[array.GetArrayLength()];
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            result[i] = String(item, $"{path}[{i}]");
            i++;
        }

        return result;
    }

    private static string Join(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";
}
