using System.Text.Json;
using Quiver.Segment.PayloadIndex;

namespace Quiver.Segment.Filtering.Internal;

/// <summary>
/// Checks the values at a field (already flattened one level, see <see cref="Payloads.JsonPath.Collect"/>).
/// By default a field matches when any value matches (Qdrant: conditions on arrays match if any element does).
/// </summary>
internal abstract class ValueMatcher
{
    public virtual bool MatchesAny(List<JsonElement> values, int start)
    {
        for (var i = start; i < values.Count; i++)
        {
            if (Matches(values[i]))
                return true;
        }

        return false;
    }

    public abstract bool Matches(JsonElement value);

    public static ValueMatcher For(MatchCondition match, TextTokenizer? tokenizer) => match switch
    {
        MatchValue { Kind: MatchValueKind.Keyword } v => new KeywordMatcher(v.Keyword!),
        MatchValue { Kind: MatchValueKind.Integer } v => new IntegerMatcher(v.Integer),
        MatchValue v => new BoolMatcher(v.Bool),
        MatchAny { IsExcept: false } a => new AnyMatcher(a),
        MatchAny a => new ExceptMatcher(a),
        MatchText { Kind: MatchTextKind.Prefix } t => new PrefixMatcher(t.Query),
        MatchText t when tokenizer is not null => new TokenMatcher(t, tokenizer),
        MatchText t => new SubstringMatcher(t),
        _ => throw new ArgumentOutOfRangeException(nameof(match)),
    };
}

internal sealed class KeywordMatcher(string value) : ValueMatcher
{
    public override bool Matches(JsonElement v) => v.ValueKind == JsonValueKind.String && v.ValueEquals(value);
}

// serde_json's as_i64 is None for floats, so 1 matches neither 1.5 nor 1.0; TryGetInt64 agrees.
internal sealed class IntegerMatcher(long value) : ValueMatcher
{
    public override bool Matches(JsonElement v) =>
        v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) && n == value;
}

internal sealed class BoolMatcher(bool value) : ValueMatcher
{
    public override bool Matches(JsonElement v) =>
        v.ValueKind == (value ? JsonValueKind.True : JsonValueKind.False);
}

internal sealed class AnyMatcher(MatchAny any) : ValueMatcher
{
    private readonly HashSet<string>? _keywords = any.Keywords is null ? null : new(any.Keywords, StringComparer.Ordinal);
    private readonly HashSet<long>? _integers = any.Integers is null ? null : [.. any.Integers];

    public override bool Matches(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.String => _keywords is not null && _keywords.Contains(v.GetString()!),
        JsonValueKind.Number => _integers is not null && v.TryGetInt64(out var n) && _integers.Contains(n),
        _ => false,
    };
}

// Qdrant's MatchExcept::check_match: a string (int) not in a string (int) list; null never; any other value
// (bool, object, nested array, number vs string list, string vs int list, float vs int list) always.
internal sealed class ExceptMatcher(MatchAny except) : ValueMatcher
{
    private readonly HashSet<string>? _keywords = except.Keywords is null ? null : new(except.Keywords, StringComparer.Ordinal);
    private readonly HashSet<long>? _integers = except.Integers is null ? null : [.. except.Integers];

    public override bool Matches(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.Null => false,
        JsonValueKind.String => _keywords is null || !_keywords.Contains(v.GetString()!),
        JsonValueKind.Number => _integers is null || !v.TryGetInt64(out var n) || !_integers.Contains(n),
        _ => true,
    };
}

internal sealed class PrefixMatcher(string prefix) : ValueMatcher
{
    public override bool Matches(JsonElement v) =>
        v.ValueKind == JsonValueKind.String && v.GetString()!.StartsWith(prefix, StringComparison.Ordinal);
}

/// <summary>
/// Text matching without a full-text index (Qdrant: <c>stored.contains(text)</c>): <c>text</c> and <c>phrase</c>
/// are case-sensitive substrings; <c>text_any</c> (Quiver's reading) is any whitespace-separated query word as
/// a substring.
/// </summary>
internal sealed class SubstringMatcher(MatchText text) : ValueMatcher
{
    private readonly string[] _words = text.Query.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);

    public override bool Matches(JsonElement v)
    {
        if (v.ValueKind != JsonValueKind.String)
            return false;
        var s = v.GetString()!;
        if (text.Kind != MatchTextKind.TextAny)
            return s.Contains(text.Query, StringComparison.Ordinal);
        foreach (var w in _words)
        {
            if (s.Contains(w, StringComparison.Ordinal))
                return true;
        }

        return false;
    }
}

/// <summary>
/// Text matching on a field with a full-text index, with the index's tokenizer. As in Qdrant's inverted index,
/// the tokens of all string values of the field form one document: <c>text</c> needs every query token,
/// <c>text_any</c> one; <c>phrase</c> needs the query tokens at consecutive positions within one value.
/// A query without tokens matches nothing.
/// </summary>
internal sealed class TokenMatcher : ValueMatcher
{
    private readonly TextTokenizer _tokenizer;
    private readonly MatchTextKind _kind;
    private readonly string[] _query;

    public TokenMatcher(MatchText text, TextTokenizer tokenizer)
    {
        _tokenizer = tokenizer;
        _kind = text.Kind;
        var q = new List<string>();
        tokenizer.TokenizeQuery(text.Query, q);
        _query = [.. q];
    }

    public override bool Matches(JsonElement value) => MatchesAny([value], 0);

    public override bool MatchesAny(List<JsonElement> values, int start)
    {
        if (_query.Length == 0)
            return false;
        var doc = new List<(string Token, int Position)>();
        var position = 0;
        for (var i = start; i < values.Count; i++)
        {
            if (values[i].ValueKind == JsonValueKind.String)
                position = _tokenizer.TokenizeDocument(values[i].GetString()!, doc, position) + 1;
        }

        return DocumentMatches(_kind, _query, doc);
    }

    internal static bool DocumentMatches(MatchTextKind kind, string[] query, List<(string Token, int Position)> doc)
    {
        switch (kind)
        {
            case MatchTextKind.TextAny:
                foreach (var q in query)
                {
                    if (doc.Exists(t => t.Token == q))
                        return true;
                }

                return false;
            case MatchTextKind.Phrase:
                var positions = new HashSet<(string, int)>(doc);
                foreach (var (token, start) in doc)
                {
                    if (token != query[0])
                        continue;
                    var all = true;
                    for (var k = 1; k < query.Length && all; k++)
                        all = positions.Contains((query[k], start + k));
                    if (all)
                        return true;
                }

                return false;
            default:
                var tokens = new HashSet<string>(doc.Select(t => t.Token), StringComparer.Ordinal);
                return query.All(tokens.Contains);
        }
    }
}

internal sealed class NumberRangeMatcher(NumberRange range) : ValueMatcher
{
    public override bool Matches(JsonElement v) => v.ValueKind == JsonValueKind.Number && range.Contains(v.GetDouble());
}

internal sealed class DatetimeRangeMatcher(DatetimeRange range) : ValueMatcher
{
    public override bool Matches(JsonElement v) => QdrantDateTime.TryParse(v, out var micros) && range.Contains(micros);
}
