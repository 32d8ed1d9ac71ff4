using System.Text;
using System.Text.Json;
using Quiver.Segment.Errors;

namespace Quiver.Segment.Payloads;

/// <summary>One step of a <see cref="JsonPath"/>.</summary>
public enum JsonPathStepKind
{
    /// <summary>An object key: <c>.key</c> or <c>."quoted key"</c>.</summary>
    Key,

    /// <summary>A fixed array element: <c>[3]</c>.</summary>
    Index,

    /// <summary>Every array element: <c>[]</c>.</summary>
    Wildcard,
}

/// <summary>One step of a <see cref="JsonPath"/>.</summary>
public readonly record struct JsonPathStep(JsonPathStepKind Kind, string Key, int Index);

/// <summary>
/// A payload key path in Qdrant's syntax, parsed once: <c>a.b.c</c>, <c>a[].b</c> (every element),
/// <c>a[0]</c> (one element) and quoted keys <c>a."b.c"</c>. The grammar follows Qdrant's
/// <c>json_path/parse.rs</c>: unquoted keys are letters, digits, <c>_</c> and <c>-</c>; quoted keys are any
/// characters except <c>"</c> and <c>\</c>; the first step is always a key.
/// </summary>
public sealed class JsonPath : IEquatable<JsonPath>
{
    private readonly JsonPathStep[] _steps;
    private readonly string _text;

    private JsonPath(JsonPathStep[] steps)
    {
        _steps = steps;
        _text = Format(steps);
    }

    /// <summary>The steps; the first is always a <see cref="JsonPathStepKind.Key"/>.</summary>
    public IReadOnlyList<JsonPathStep> Steps => _steps;

    /// <summary>True when the last step is <c>[]</c>.</summary>
    public bool EndsWithWildcard => _steps[^1].Kind == JsonPathStepKind.Wildcard;

    /// <summary>Parses a path; bad syntax is a BadInput error naming <paramref name="field"/>.</summary>
    public static JsonPath Parse(string text, string field = "key")
    {
        ArgumentNullException.ThrowIfNull(text);
        return TryParse(text, out var path)
            ? path
            : throw QuiverException.BadInput($"{field}: invalid payload key path `{text}`");
    }

    public static bool TryParse(string text, out JsonPath path)
    {
        ArgumentNullException.ThrowIfNull(text);
        path = null!;
        var steps = new List<JsonPathStep>();
        var i = 0;
        if (!TryKey(text, ref i, out var first))
            return false;
        steps.Add(new JsonPathStep(JsonPathStepKind.Key, first, 0));
        while (i < text.Length)
        {
            var c = text[i];
            if (c == '.')
            {
                i++;
                if (!TryKey(text, ref i, out var key))
                    return false;
                steps.Add(new JsonPathStep(JsonPathStepKind.Key, key, 0));
            }
            else if (c == '[')
            {
                i++;
                if (i < text.Length && text[i] == ']')
                {
                    i++;
                    steps.Add(new JsonPathStep(JsonPathStepKind.Wildcard, string.Empty, 0));
                    continue;
                }

                var start = i;
                long index = 0;
                while (i < text.Length && text[i] is >= '0' and <= '9')
                {
                    index = (index * 10) + (text[i] - '0');
                    if (index > int.MaxValue)
                        return false;
                    i++;
                }

                if (i == start || i >= text.Length || text[i] != ']')
                    return false;
                i++;
                steps.Add(new JsonPathStep(JsonPathStepKind.Index, string.Empty, (int)index));
            }
            else
            {
                return false;
            }
        }

        path = new JsonPath([.. steps]);
        return true;
    }

    /// <summary>This path followed by <paramref name="suffix"/> (used for keys inside nested filters).</summary>
    public JsonPath Concat(JsonPath suffix)
    {
        ArgumentNullException.ThrowIfNull(suffix);
        return new JsonPath([.. _steps, .. suffix._steps]);
    }

    /// <summary>
    /// The path with a trailing <c>[]</c>, as Qdrant's nested condition uses it: <c>a</c> and <c>a[]</c> both address
    /// the elements of the array at <c>a</c>.
    /// </summary>
    public JsonPath ArrayElements() =>
        EndsWithWildcard ? this : new JsonPath([.. _steps, new JsonPathStep(JsonPathStepKind.Wildcard, string.Empty, 0)]);

    /// <summary>
    /// Collects the values at this path for matching: intermediate arrays are traversed only through <c>[]</c> or
    /// <c>[n]</c> steps, and an array found at the final step is flattened one level, so a condition on
    /// <c>tags</c> sees each tag (Qdrant: "a condition on an array matches if any element matches").
    /// Arrays nested inside that array stay as array values.
    /// </summary>
    public void Collect(JsonElement root, List<JsonElement> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var start = values.Count;
        CollectRaw(root, values);
        var end = values.Count;
        for (var i = start; i < end; i++)
        {
            if (values[i].ValueKind != JsonValueKind.Array)
                continue;
            // Replace the array by its elements (appended), keeping order stable enough for matching.
            var array = values[i];
            var first = true;
            foreach (var element in array.EnumerateArray())
            {
                if (first)
                {
                    values[i] = element;
                    first = false;
                }
                else
                {
                    values.Add(element);
                }
            }

            if (first)
            {
                values.RemoveAt(i);
                i--;
                end--;
            }
        }
    }

    /// <summary>
    /// Collects the values at this path as Qdrant's <c>get_value</c> does: the value at the final step as is
    /// (an array stays one array value). Used by <c>is_empty</c>, <c>is_null</c> and <c>values_count</c>.
    /// </summary>
    public void CollectRaw(JsonElement root, List<JsonElement> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        Walk(root, 0, values);
    }

    public bool Equals(JsonPath? other) => other is not null && string.Equals(_text, other._text, StringComparison.Ordinal);

    public override bool Equals(object? obj) => Equals(obj as JsonPath);

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(_text);

    /// <summary>The canonical text form (keys quoted only where needed).</summary>
    public override string ToString() => _text;

    internal static bool IsRawKeyChar(char c) => char.IsLetterOrDigit(c) || c == '_' || c == '-';

    private void Walk(JsonElement value, int step, List<JsonElement> values)
    {
        if (step == _steps.Length)
        {
            values.Add(value);
            return;
        }

        var s = _steps[step];
        switch (s.Kind)
        {
            case JsonPathStepKind.Key when value.ValueKind == JsonValueKind.Object:
                if (value.TryGetProperty(s.Key, out var child))
                    Walk(child, step + 1, values);
                break;
            case JsonPathStepKind.Index when value.ValueKind == JsonValueKind.Array:
                if (s.Index < value.GetArrayLength())
                    Walk(value[s.Index], step + 1, values);
                break;
            case JsonPathStepKind.Wildcard when value.ValueKind == JsonValueKind.Array:
                foreach (var element in value.EnumerateArray())
                    Walk(element, step + 1, values);
                break;
            default:
                break;
        }
    }

    private static bool TryKey(string text, ref int i, out string key)
    {
        key = string.Empty;
        if (i >= text.Length)
            return false;
        if (text[i] == '"')
        {
            var close = i + 1;
            while (close < text.Length && text[close] != '"')
            {
                if (text[close] == '\\')
                    return false;
                close++;
            }

            if (close >= text.Length)
                return false;
            key = text.Substring(i + 1, close - i - 1);
            i = close + 1;
            return true;
        }

        var start = i;
        while (i < text.Length && IsRawKeyChar(text[i]))
            i++;
        if (i == start)
            return false;
        key = text[start..i];
        return true;
    }

    private static string Format(JsonPathStep[] steps)
    {
        var sb = new StringBuilder();
        for (var n = 0; n < steps.Length; n++)
        {
            var s = steps[n];
            switch (s.Kind)
            {
                case JsonPathStepKind.Key:
                    if (n > 0)
                        sb.Append('.');
                    if (s.Key.Length > 0 && s.Key.All(IsRawKeyChar))
                        sb.Append(s.Key);
                    else
                        sb.Append('"').Append(s.Key).Append('"');
                    break;
                case JsonPathStepKind.Index:
                    sb.Append('[').Append(s.Index.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append(']');
                    break;
                default:
                    sb.Append("[]");
                    break;
            }
        }

        return sb.ToString();
    }
}
