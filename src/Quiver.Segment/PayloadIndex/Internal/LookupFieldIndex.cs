using System.Text.Json;
using Quiver.Segment.Filtering;
using Quiver.Segment.Payloads;

namespace Quiver.Segment.PayloadIndex.Internal;

/// <summary>An exact-value index: value -> points. Serves match value/any on the values it indexes.</summary>
internal abstract class LookupFieldIndex<TKey> : PayloadFieldIndex
    where TKey : notnull
{
    private readonly PostingLists<TKey> _postings;

    private protected LookupFieldIndex(JsonPath path, PayloadFieldSchema schema, IEqualityComparer<TKey>? comparer = null)
        : base(path, schema) => _postings = new PostingLists<TKey>(comparer);

    private protected abstract bool TryKey(JsonElement value, out TKey key);

    /// <summary>The keys a match condition asks for, or null when this index does not serve it.</summary>
    private protected abstract IEnumerable<TKey>? Keys(MatchCondition match);

    private protected override bool AddValues(int offset, List<JsonElement> values)
    {
        var any = false;
        foreach (var v in values)
        {
            if (!TryKey(v, out var key))
                continue;
            _postings.Add(key, offset);
            any = true;
        }

        return any;
    }

    private protected override void RemoveValues(int offset, List<JsonElement> values)
    {
        foreach (var v in values)
        {
            if (TryKey(v, out var key))
                _postings.Remove(key, offset);
        }
    }

    private protected override IEnumerable<int>? Candidates(FieldCondition condition)
    {
        var keys = condition.Match is null ? null : Keys(condition.Match);
        return keys is null ? null : _postings.Union(keys);
    }

    private protected override long Estimate(FieldCondition condition)
    {
        var keys = condition.Match is null ? null : Keys(condition.Match);
        return keys is null ? -1 : Math.Min(_postings.CountAny(keys), PointsCount);
    }

    /// <summary>A value's block key: a type prefix, so an index dropped and created with another type never matches old blocks.</summary>
    private protected abstract string BlockKeyOf(TKey key);

    internal override IEnumerable<(string Key, int[] Points)> ValueBlocks(int minPoints) =>
        _postings.Blocks(minPoints).Select(b => (BlockKeyOf(b.Key), b.Points));

    /// <summary>A key as the API reports a facet value.</summary>
    private protected abstract object FacetValueOf(TKey key);

    public override IEnumerable<(object Value, IEnumerable<int> Points)>? FacetValues() =>
        _postings.All().Select(p => (FacetValueOf(p.Key), (IEnumerable<int>)p.Points));

    internal override string? BlockKey(MatchCondition match) =>
        Keys(match) is { } keys && keys.Take(2).Count() == 1 ? BlockKeyOf(keys.First()) : null;
}

internal sealed class KeywordFieldIndex(JsonPath path, PayloadFieldSchema schema)
    : LookupFieldIndex<string>(path, schema, StringComparer.Ordinal)
{
    private protected override bool TryKey(JsonElement value, out string key)
    {
        key = value.ValueKind == JsonValueKind.String ? value.GetString()! : string.Empty;
        return value.ValueKind == JsonValueKind.String;
    }

    private protected override IEnumerable<string>? Keys(MatchCondition match) => match switch
    {
        MatchValue { Kind: MatchValueKind.Keyword } v => [v.Keyword!],
        MatchAny { IsExcept: false, Keywords: { } k } => k,
        _ => null,
    };

    private protected override string BlockKeyOf(string key) => "s:" + key;

    private protected override object FacetValueOf(string key) => key;
}

/// <summary>UUID index: string values that parse as UUIDs, compared as UUIDs (so case-insensitively).</summary>
internal sealed class UuidFieldIndex(JsonPath path, PayloadFieldSchema schema) : LookupFieldIndex<Guid>(path, schema)
{
    private protected override bool TryKey(JsonElement value, out Guid key)
    {
        key = Guid.Empty;
        return value.ValueKind == JsonValueKind.String && Guid.TryParse(value.GetString(), out key);
    }

    private protected override IEnumerable<Guid>? Keys(MatchCondition match) => match switch
    {
        MatchValue { Kind: MatchValueKind.Keyword } v => Parse([v.Keyword!]),
        MatchAny { IsExcept: false, Keywords: { } k } => Parse(k),
        _ => null,
    };

    private static List<Guid> Parse(IEnumerable<string> values) =>
        [.. values.Select(s => Guid.TryParse(s, out var g) ? (Guid?)g : null).OfType<Guid>()];

    private protected override string BlockKeyOf(Guid key) => "u:" + key.ToString("N");

    private protected override object FacetValueOf(Guid key) => key.ToString("D");
}

internal sealed class BoolFieldIndex(JsonPath path, PayloadFieldSchema schema) : LookupFieldIndex<bool>(path, schema)
{
    private protected override bool TryKey(JsonElement value, out bool key)
    {
        key = value.ValueKind == JsonValueKind.True;
        return value.ValueKind is JsonValueKind.True or JsonValueKind.False;
    }

    private protected override IEnumerable<bool>? Keys(MatchCondition match) =>
        match is MatchValue { Kind: MatchValueKind.Bool } v ? [v.Bool] : null;

    private protected override string BlockKeyOf(bool key) => key ? "b:1" : "b:0";

    private protected override object FacetValueOf(bool key) => key;
}
