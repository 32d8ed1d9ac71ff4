using System.Globalization;
using System.Text.Json;
using Quiver.Segment.Errors;
using Quiver.Segment.Filtering;
using Quiver.Segment.Payloads;

namespace Quiver.Engine.Query;

/// <summary>
/// Score boosting (<c>{"formula": expression, "defaults": {...}}</c>): each prefetched point is rescored by an
/// expression over its prefetch scores (<c>$score</c>, <c>$score[i]</c>), payload values, filter conditions (1 when
/// met, else 0), geo distances, datetimes and arithmetic, as Qdrant defines them.
/// </summary>
public sealed record FormulaStage(FormulaExpression Root, IReadOnlyList<Condition> Conditions, IReadOnlyDictionary<string, JsonElement> Defaults) : StageQuery;

/// <summary>A node of a formula; evaluated in double precision, as Qdrant does.</summary>
public abstract record FormulaExpression;

public sealed record ConstantExpression(double Value) : FormulaExpression;

/// <summary>The score a point got from prefetch <paramref name="Index"/> (<c>$score</c> is prefetch 0).</summary>
public sealed record ScoreExpression(int Index) : FormulaExpression;

/// <summary>A numeric payload value.</summary>
public sealed record PayloadExpression(string Key, JsonPath Path) : FormulaExpression;

/// <summary>A filter condition: 1 for points that meet it, else 0.</summary>
public sealed record ConditionExpression(int Index, Condition Condition) : FormulaExpression;

/// <summary>Haversine distance in metres from a fixed origin to a geo point in the payload.</summary>
public sealed record GeoDistanceExpression(double Lat, double Lon, string Key, JsonPath Path) : FormulaExpression;

/// <summary>A datetime constant or a payload datetime, as Unix seconds.</summary>
public sealed record DatetimeExpression(double? Seconds, string? Key, JsonPath? Path) : FormulaExpression;

public sealed record ArithmeticExpression(string Op, IReadOnlyList<FormulaExpression> Args, double? ByZeroDefault = null) : FormulaExpression;

/// <summary>lin_decay, exp_decay or gauss_decay of <paramref name="X"/> around <paramref name="Target"/> (default 0).</summary>
public sealed record DecayExpression(string Kind, FormulaExpression X, FormulaExpression? Target, double Lambda) : FormulaExpression;

/// <summary>Parses and evaluates formulas.</summary>
public static class Formula
{
    /// <summary>Earth's mean radius in metres, as the haversine Qdrant uses.</summary>
    private const double EarthRadiusMetres = 6_371_008.8;

    private static readonly string[] Unary = ["neg", "abs", "sqrt", "exp", "log10", "ln"];

    /// <summary>Parses a <c>FormulaQuery</c>'s expression; <paramref name="conditions"/> collects its filter conditions in order.</summary>
    public static FormulaExpression Parse(JsonElement e, string path, List<Condition> conditions)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Number:
                return new ConstantExpression(e.GetDouble());
            case JsonValueKind.String:
                return Variable(e.GetString()!, path);
            case JsonValueKind.Object:
                break;
            default:
                throw Bad(path, "expected a number, a variable name or an expression object");
        }

        if (e.GetPropertyCount() == 1)
        {
            var only = e.EnumerateObject().First();
            var at = $"{path}.{only.Name}";
            switch (only.Name)
            {
                case "mult" or "sum":
                    if (only.Value.ValueKind != JsonValueKind.Array)
                        throw Bad(at, "expected an array of expressions");
                    return new ArithmeticExpression(only.Name, [.. only.Value.EnumerateArray().Select((x, i) => Parse(x, $"{at}[{i}]", conditions))]);
                case var op when Unary.Contains(op):
                    return new ArithmeticExpression(op, [Parse(only.Value, at, conditions)]);
                case "div":
                    return new ArithmeticExpression(
                        "div",
                        [Parse(Required(only.Value, "left", at), $"{at}.left", conditions), Parse(Required(only.Value, "right", at), $"{at}.right", conditions)],
                        only.Value.TryGetProperty("by_zero_default", out var d) && d.ValueKind == JsonValueKind.Number ? d.GetDouble() : null);
                case "pow":
                    return new ArithmeticExpression("pow", [Parse(Required(only.Value, "base", at), $"{at}.base", conditions), Parse(Required(only.Value, "exponent", at), $"{at}.exponent", conditions)]);
                case "datetime":
                    return new DatetimeExpression(Seconds(only.Value, at), null, null);
                case "datetime_key":
                    var key = only.Value.ValueKind == JsonValueKind.String ? only.Value.GetString()! : throw Bad(at, "expected a payload key");
                    return new DatetimeExpression(null, key, JsonPath.Parse(key, at));
                case "geo_distance":
                {
                    var origin = Required(only.Value, "origin", at);
                    var to = Required(only.Value, "to", at);
                    if (to.ValueKind != JsonValueKind.String)
                        throw Bad($"{at}.to", "expected a payload key");
                    return new GeoDistanceExpression(Number(Required(origin, "lat", $"{at}.origin"), $"{at}.origin.lat"), Number(Required(origin, "lon", $"{at}.origin"), $"{at}.origin.lon"), to.GetString()!, JsonPath.Parse(to.GetString()!, $"{at}.to"));
                }

                case "lin_decay" or "exp_decay" or "gauss_decay":
                    return Decay(only.Name, only.Value, at, conditions);
                default:
                    break;
            }
        }

        // Anything else is a filter condition (field, has_id, is_empty, a nested filter, ...).
        var condition = FilterParser.ParseCondition(e, path);
        conditions.Add(condition);
        return new ConditionExpression(conditions.Count - 1, condition);
    }

    private static DecayExpression Decay(string kind, JsonElement e, string path, List<Condition> conditions)
    {
        var x = Parse(Required(e, "x", path), $"{path}.x", conditions);
        var target = e.TryGetProperty("target", out var t) && t.ValueKind != JsonValueKind.Null ? Parse(t, $"{path}.target", conditions) : null;
        var midpoint = e.TryGetProperty("midpoint", out var m) && m.ValueKind != JsonValueKind.Null ? Number(m, $"{path}.midpoint") : 0.5;
        var scale = e.TryGetProperty("scale", out var s) && s.ValueKind != JsonValueKind.Null ? Number(s, $"{path}.scale") : 1.0;
        if (kind == "lin_decay" ? midpoint is < 0 or > 1 : midpoint is <= 0 or >= 1)
            throw Bad($"{path}.midpoint", kind == "lin_decay" ? "expected a number from 0 to 1" : "expected a number between 0 and 1 (exclusive)");
        if (scale <= 0)
            throw Bad($"{path}.scale", "expected a positive number");
        var lambda = kind switch
        {
            "lin_decay" => (1 - midpoint) / scale,
            "exp_decay" => Math.Log(midpoint) / scale,
            _ => Math.Log(midpoint) / (scale * scale),
        };
        return new DecayExpression(kind, x, target, lambda);
    }

    private static FormulaExpression Variable(string name, string path)
    {
        if (!name.StartsWith('$'))
            return new PayloadExpression(name, JsonPath.Parse(name, path));
        if (name == "$score")
            return new ScoreExpression(0);
        if (name.StartsWith("$score[", StringComparison.Ordinal) && name.EndsWith(']')
            && int.TryParse(name.AsSpan(7, name.Length - 8), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
        {
            return new ScoreExpression(index);
        }

        throw Bad(path, $"unknown variable {name}: the reserved ones are $score and $score[i]");
    }

    /// <summary>The value of <paramref name="e"/> for one point.</summary>
    /// <param name="scores">The point's score in each prefetch (null where it was not found there).</param>
    /// <param name="conditions">Whether the point meets each condition, by index.</param>
    public static double Evaluate(FormulaExpression e, Payload payload, IReadOnlyList<double?> scores, IReadOnlyList<bool> conditions, IReadOnlyDictionary<string, JsonElement> defaults)
    {
        double Eval(FormulaExpression x) => Evaluate(x, payload, scores, conditions, defaults);
        switch (e)
        {
            case ConstantExpression c:
                return c.Value;
            case ScoreExpression s:
                if (s.Index < scores.Count && scores[s.Index] is { } score)
                    return score;
                return defaults.TryGetValue($"$score[{s.Index}]", out var d) && d.ValueKind == JsonValueKind.Number ? d.GetDouble()
                    : s.Index == 0 && defaults.TryGetValue("$score", out d) && d.ValueKind == JsonValueKind.Number ? d.GetDouble() : 0;
            case PayloadExpression p:
            {
                var value = Value(payload, p.Path, p.Key, defaults);
                return value.ValueKind == JsonValueKind.Number ? value.GetDouble() : throw VariableError(p.Key, "number", "Value is not a number");
            }

            case ConditionExpression c:
                return conditions[c.Index] ? 1 : 0;
            case GeoDistanceExpression g:
            {
                var value = Value(payload, g.Path, g.Key, defaults);
                if (value.ValueKind != JsonValueKind.Object || !value.TryGetProperty("lat", out var lat) || !value.TryGetProperty("lon", out var lon)
                    || lat.ValueKind != JsonValueKind.Number || lon.ValueKind != JsonValueKind.Number)
                {
                    throw VariableError(g.Key, "geo point", "not a {lat, lon} object");
                }

                return Haversine(g.Lat, g.Lon, lat.GetDouble(), lon.GetDouble());
            }

            case DatetimeExpression { Seconds: { } seconds }:
                return seconds;
            case DatetimeExpression dt:
            {
                var value = Value(payload, dt.Path!, dt.Key!, defaults);
                return value.ValueKind == JsonValueKind.String && TryParseDatetime(value.GetString()!, out var parsed)
                    ? parsed
                    : throw VariableError(dt.Key!, "datetime", "value is not a datetime string");
            }

            case ArithmeticExpression a:
                return Arithmetic(a, Eval);
            case DecayExpression decay:
            {
                var x = Eval(decay.X);
                var target = decay.Target is null ? 0 : Eval(decay.Target);
                var diff = x - target;
                return decay.Kind switch
                {
                    "lin_decay" => Math.Max(0, (-decay.Lambda * Math.Abs(diff)) + 1),
                    "exp_decay" => Math.Exp(decay.Lambda * Math.Abs(diff)),
                    _ => Math.Exp(decay.Lambda * diff * diff),
                };
            }

            default:
                throw new InvalidOperationException($"unknown expression {e.GetType().Name}");
        }
    }

    private static double Arithmetic(ArithmeticExpression a, Func<FormulaExpression, double> eval)
    {
        switch (a.Op)
        {
            case "sum":
                return a.Args.Sum(eval);
            case "mult":
            {
                var product = 1.0;
                foreach (var arg in a.Args)
                {
                    var v = eval(arg);
                    if (v == 0)
                        return 0;
                    product *= v;
                }

                return product;
            }

            case "neg":
                return -eval(a.Args[0]);
            case "abs":
                return Math.Abs(eval(a.Args[0]));
            case "div":
            {
                var left = eval(a.Args[0]);
                if (left == 0)
                    return 0;
                var right = eval(a.Args[1]);
                if (right == 0 && a.ByZeroDefault is { } byZero)
                    return byZero;
                return Finite(left / right, $"{left}/{right}");
            }

            case "pow":
            {
                var b = eval(a.Args[0]);
                var x = eval(a.Args[1]);
                return Finite(Math.Pow(b, x), $"{b}^{x}");
            }

            default:
            {
                var v = eval(a.Args[0]);
                return a.Op switch
                {
                    "sqrt" => Finite(Math.Sqrt(v), $"sqrt({v})"),
                    "exp" => Finite(Math.Exp(v), $"exp({v})"),
                    "log10" => Finite(Math.Log10(v), $"log10({v})"),
                    _ => Finite(Math.Log(v), $"ln({v})"),
                };
            }
        }
    }

    /// <summary>The single value at a path, else the default for its key; an error when there is neither.</summary>
    private static JsonElement Value(Payload payload, JsonPath path, string key, IReadOnlyDictionary<string, JsonElement> defaults)
    {
        var values = new List<JsonElement>(1);
        path.Collect(payload.Root, values);
        if (values.Count == 1)
            return values[0];
        if (values.Count > 1)
            throw VariableError(key, "number", "the payload holds several values");
        return defaults.TryGetValue(key, out var fallback) ? fallback : throw VariableError(key, "number", "No value found in a payload nor defaults");
    }

    private static double Finite(double value, string expression) =>
        double.IsFinite(value) ? value : throw QuiverException.BadInput($"Bad request: the formula gives a non-finite number: {expression} = {value}");

    private static QuiverException VariableError(string key, string expected, string description) =>
        QuiverException.BadInput($"Bad request: the formula's variable {key} is not a {expected}: {description}");

    private static double Haversine(double lat1, double lon1, double lat2, double lon2)
    {
        static double Rad(double degrees) => degrees * Math.PI / 180;
        var dLat = Rad(lat2 - lat1);
        var dLon = Rad(lon2 - lon1);
        var h = (Math.Sin(dLat / 2) * Math.Sin(dLat / 2)) + (Math.Cos(Rad(lat1)) * Math.Cos(Rad(lat2)) * Math.Sin(dLon / 2) * Math.Sin(dLon / 2));
        return 2 * EarthRadiusMetres * Math.Asin(Math.Min(1, Math.Sqrt(h)));
    }

    private static double Seconds(JsonElement value, string path) =>
        value.ValueKind == JsonValueKind.String && TryParseDatetime(value.GetString()!, out var seconds) ? seconds : throw Bad(path, "expected an RFC 3339 datetime");

    private static bool TryParseDatetime(string text, out double seconds)
    {
        var ok = DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed);
        seconds = ok ? (parsed.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / (double)TimeSpan.TicksPerSecond : 0;
        return ok;
    }

    private static double Number(JsonElement value, string path) =>
        value.ValueKind == JsonValueKind.Number ? value.GetDouble() : throw Bad(path, "expected a number");

    private static JsonElement Required(JsonElement obj, string name, string path) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var value) ? value : throw Bad(path, $"missing field `{name}`");

    private static QuiverException Bad(string path, string message) => QuiverException.BadInput($"Format error in JSON body: {path}: {message}");
}
