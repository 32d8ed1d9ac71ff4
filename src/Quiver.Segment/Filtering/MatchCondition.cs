namespace Quiver.Segment.Filtering;

/// <summary>The <c>match</c> part of a field condition.</summary>
public abstract class MatchCondition
{
    private protected MatchCondition()
    {
    }
}

/// <summary>The kind of a <see cref="MatchValue"/>.</summary>
public enum MatchValueKind
{
    Keyword,
    Integer,
    Bool,
}

/// <summary><c>{"value": string | integer | bool}</c>: exact match; integer 1 matches neither 1.5 nor 1.0.</summary>
public sealed class MatchValue : MatchCondition
{
    private MatchValue(MatchValueKind kind, string? keyword, long integer, bool boolean)
    {
        Kind = kind;
        Keyword = keyword;
        Integer = integer;
        Bool = boolean;
    }

    public MatchValueKind Kind { get; }

    public string? Keyword { get; }

    public long Integer { get; }

    public bool Bool { get; }

    public static MatchValue OfKeyword(string value) => new(MatchValueKind.Keyword, value, 0, false);

    public static MatchValue OfInteger(long value) => new(MatchValueKind.Integer, null, value, false);

    public static MatchValue OfBool(bool value) => new(MatchValueKind.Bool, null, 0, value);
}

/// <summary>
/// <c>{"any": [...]}</c> (or <c>except</c> when <see cref="IsExcept"/>): the list holds strings or integers,
/// never both; an empty list is a keyword list.
/// </summary>
public sealed class MatchAny : MatchCondition
{
    public MatchAny(IReadOnlyList<string>? keywords, IReadOnlyList<long>? integers, bool isExcept)
    {
        Keywords = keywords ?? (integers is null ? [] : null);
        Integers = integers;
        IsExcept = isExcept;
    }

    /// <summary>Set for a string (or empty) list.</summary>
    public IReadOnlyList<string>? Keywords { get; }

    /// <summary>Set for an integer list.</summary>
    public IReadOnlyList<long>? Integers { get; }

    /// <summary>True for <c>except</c>: at least one value not in the list.</summary>
    public bool IsExcept { get; }
}

/// <summary>The kind of a <see cref="MatchText"/>.</summary>
public enum MatchTextKind
{
    /// <summary><c>text</c>: all query tokens (with a text index) or substring (without).</summary>
    Text,

    /// <summary><c>text_any</c>: at least one query token.</summary>
    TextAny,

    /// <summary><c>phrase</c>: the query tokens consecutively, in order.</summary>
    Phrase,

    /// <summary><c>prefix</c>: the string starts with the query (case-sensitive, ordinal).</summary>
    Prefix,
}

/// <summary>Full-text style match: <c>text</c>, <c>text_any</c>, <c>phrase</c> or <c>prefix</c>.</summary>
public sealed class MatchText(MatchTextKind kind, string query) : MatchCondition
{
    public MatchTextKind Kind { get; } = kind;

    public string Query { get; } = query;
}
