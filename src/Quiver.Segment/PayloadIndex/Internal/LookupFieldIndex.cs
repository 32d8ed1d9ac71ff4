using System.Text.Json;
using Quiver.Segment.Filtering;
using Quiver.Segment.Payloads;

namespace Quiver.Segment.PayloadIndex.Internal;

/// <summary>An exact-value index: value -> points. Serves match value/any on the values it indexes.</summary>
internal abstract class LookupFieldIndex<TKey> : PayloadFieldIndex
    where TKey : notnull
{
    private readonly Dictionary<TKey, HashSet<int>> _postings;
    private readonly Dictionary<TKey, int[]> _sorted;

    private protected LookupFieldIndex(JsonPath path, PayloadFieldSchema schema, IEqualityComparer<TKey>? comparer = null)
        : base(path, schema)
    {
        _postings = new Dictionary<TKey, HashSet<int>>(comparer);
        _sorted = new Dictionary<TKey, int[]>(comparer);
    }

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
            if (!_postings.TryGetValue(key, out var set))
                _postings[key] = set = [];
            set.Add(offset);
            _sorted.Remove(key);
            any = true;
        }

        return any;
    }

    private protected override void RemoveValues(int offset, List<JsonElement> values)
    {
        foreach (var v in values)
        {
            if (!TryKey(v, out var key))
                continue;
            _sorted.Remove(key);
            if (_postings.TryGetValue(key, out var set) && set.Remove(offset) && set.Count == 0)
                _postings.Remove(key);
        }
    }

    private protected override IEnumerable<int>? Candidates(FieldCondition condition)
    {
        var keys = condition.Match is null ? null : Keys(condition.Match);
        if (keys is null)
            return null;
        if (keys.Take(2).Count() == 1)
            return SortedPostings(keys.First());
        var result = new HashSet<int>();
        foreach (var key in keys)
        {
            if (_postings.TryGetValue(key, out var set))
                result.UnionWith(set);
        }

        return result;
    }

    // One key's points, sorted once and kept until the key changes: index-served filters reuse it every query.
    private int[] SortedPostings(TKey key)
    {
        if (_sorted.TryGetValue(key, out var sorted))
            return sorted;
        if (!_postings.TryGetValue(key, out var set))
            return [];
        sorted = [.. set];
        Array.Sort(sorted);
        _sorted[key] = sorted;
        return sorted;
    }

    private protected override long Estimate(FieldCondition condition)
    {
        var keys = condition.Match is null ? null : Keys(condition.Match);
        if (keys is null)
            return -1;
        long sum = 0;
        foreach (var key in keys)
            sum += _postings.TryGetValue(key, out var set) ? set.Count : 0;
        return Math.Min(sum, PointsCount);
    }
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
}
