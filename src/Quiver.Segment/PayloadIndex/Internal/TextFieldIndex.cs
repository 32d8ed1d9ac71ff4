using System.Text.Json;
using Quiver.Segment.Filtering;
using Quiver.Segment.Payloads;

namespace Quiver.Segment.PayloadIndex.Internal;

/// <summary>
/// Full-text inverted index: token -> point -> word positions. All string values of a point form one document
/// (positions continue across values with a gap, so a phrase never spans two values), matching what the
/// evaluator does for a field with a text index.
/// </summary>
internal sealed class TextFieldIndex : PayloadFieldIndex
{
    private readonly Dictionary<string, Dictionary<int, List<int>>> _postings = new(StringComparer.Ordinal);

    public TextFieldIndex(JsonPath path, PayloadFieldSchema schema)
        : base(path, schema) => Tokenizer = new TextTokenizer(schema.Text ?? new TextIndexParams());

    public TextTokenizer Tokenizer { get; }

    private protected override bool AddValues(int offset, List<JsonElement> values)
    {
        var doc = Document(values);
        foreach (var (token, position) in doc)
        {
            if (!_postings.TryGetValue(token, out var points))
                _postings[token] = points = [];
            if (!points.TryGetValue(offset, out var positions))
                points[offset] = positions = [];
            positions.Add(position);
        }

        return doc.Count > 0;
    }

    private protected override void RemoveValues(int offset, List<JsonElement> values)
    {
        foreach (var (token, _) in Document(values))
        {
            if (_postings.TryGetValue(token, out var points) && points.Remove(offset) && points.Count == 0)
                _postings.Remove(token);
        }
    }

    private protected override IEnumerable<int>? Candidates(FieldCondition condition)
    {
        if (condition.Match is not MatchText { Kind: not MatchTextKind.Prefix } text)
            return null;
        var query = Query(text);
        if (query.Length == 0)
            return [];
        if (text.Kind == MatchTextKind.TextAny)
        {
            var union = new HashSet<int>();
            foreach (var q in query)
            {
                if (_postings.TryGetValue(q, out var points))
                    union.UnionWith(points.Keys);
            }

            return union;
        }

        var lists = new List<Dictionary<int, List<int>>>(query.Length);
        foreach (var q in query)
        {
            if (!_postings.TryGetValue(q, out var points))
                return [];
            lists.Add(points);
        }

        var smallest = lists.MinBy(l => l.Count)!;
        var result = new List<int>();
        foreach (var offset in smallest.Keys)
        {
            if (!lists.TrueForAll(l => l.ContainsKey(offset)))
                continue;
            if (text.Kind != MatchTextKind.Phrase || HasPhrase(lists, offset))
                result.Add(offset);
        }

        return result;
    }

    private protected override long Estimate(FieldCondition condition)
    {
        if (condition.Match is not MatchText { Kind: not MatchTextKind.Prefix } text)
            return -1;
        var query = Query(text);
        if (query.Length == 0)
            return 0;
        var counts = query.Select(q => _postings.TryGetValue(q, out var p) ? (long)p.Count : 0L).ToList();
        return text.Kind == MatchTextKind.TextAny ? Math.Min(counts.Sum(), PointsCount) : counts.Min();
    }

    private static bool HasPhrase(List<Dictionary<int, List<int>>> lists, int offset)
    {
        foreach (var start in lists[0][offset])
        {
            var all = true;
            for (var k = 1; k < lists.Count && all; k++)
                all = lists[k][offset].Contains(start + k);
            if (all)
                return true;
        }

        return false;
    }

    private string[] Query(MatchText text)
    {
        var tokens = new List<string>();
        Tokenizer.TokenizeQuery(text.Query, tokens);
        return [.. tokens];
    }

    private List<(string Token, int Position)> Document(List<JsonElement> values)
    {
        var doc = new List<(string Token, int Position)>();
        var position = 0;
        foreach (var v in values)
        {
            if (v.ValueKind == JsonValueKind.String)
                position = Tokenizer.TokenizeDocument(v.GetString()!, doc, position) + 1;
        }

        return doc;
    }
}
