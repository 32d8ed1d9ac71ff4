using System.Text.Json;
using Quiver.Segment.Filtering;
using Quiver.Segment.PayloadIndex.Internal;
using Quiver.Segment.Payloads;

namespace Quiver.Segment.PayloadIndex;

/// <summary>
/// The payload indexes of one segment, one per field path. The segment calls the point hooks on every change
/// and compiles filters against this set (it is the <see cref="IFilterContext"/>). Not thread-safe: the segment
/// serialises writers and gives readers a consistent view.
/// </summary>
public sealed class PayloadIndexSet : IFilterContext
{
    private readonly Dictionary<JsonPath, PayloadFieldIndex> _indexes = [];

    public IReadOnlyCollection<PayloadFieldIndex> Indexes => _indexes.Values;

    public PayloadFieldIndex? Get(JsonPath path) => _indexes.GetValueOrDefault(path);

    /// <summary>
    /// Creates (or replaces, when the schema differs) the index on <paramref name="path"/> and fills it from the
    /// segment's current points.
    /// </summary>
    public PayloadFieldIndex Create(
        JsonPath path, PayloadFieldSchema schema, IEnumerable<(int Offset, Payload Payload)>? existing = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        var index = PayloadFieldIndex.Create(path, schema);
        foreach (var (offset, payload) in existing ?? [])
            index.Add(offset, payload);
        _indexes[path] = index;
        return index;
    }

    public bool Drop(JsonPath path) => _indexes.Remove(path);

    public void OnPointAdded(int offset, Payload payload)
    {
        foreach (var index in _indexes.Values)
            index.Add(offset, payload);
    }

    public void OnPointRemoved(int offset, Payload payload)
    {
        foreach (var index in _indexes.Values)
            index.Remove(offset, payload);
    }

    public void OnPayloadChanged(int offset, Payload previous, Payload current)
    {
        OnPointRemoved(offset, previous);
        OnPointAdded(offset, current);
    }

    public TextTokenizer? GetTextTokenizer(JsonPath key) =>
        _indexes.GetValueOrDefault(key) is TextFieldIndex text ? text.Tokenizer : null;

    /// <summary>
    /// Compiles <paramref name="filter"/> against these indexes and intersects the candidates of every indexed
    /// top-level <c>must</c> field condition (smallest first), so "label = 3 AND bucket = 7" yields the ~1% that
    /// match both rather than the ~10% of either; no such condition means a full scan.
    /// </summary>
    public FilterPlan Plan(Filter filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var compiled = filter.Compile(this);
        var served = new List<(PayloadFieldIndex Index, FieldCondition Condition, long Estimate)>();
        foreach (var condition in filter.Must ?? [])
        {
            if (condition is not FieldCondition f || Get(f.Key) is not { } index)
                continue;
            var estimate = index.EstimateCardinality(f);
            if (estimate >= 0)
                served.Add((index, f, estimate));
        }

        IReadOnlyCollection<int>? candidates = null;
        var answered = 0;
        foreach (var (index, condition, _) in served.OrderBy(x => x.Estimate))
        {
            if (!index.TryGetCandidates(condition, out var next))
                continue;
            answered++;
            candidates = candidates is null ? next : IntersectSorted(candidates, next);
            if (candidates.Count == 0)
                break;
        }

        if (candidates is null)
            return new FilterPlan(compiled, null, null, -1);
        var exact = filter.Should is null && filter.MustNot is null && filter.MinShould is null
            && answered == (filter.Must?.Count ?? 0) && candidates.Count >= 0;
        return new FilterPlan(compiled, candidates, served.MinBy(x => x.Estimate).Index.Path, candidates.Count, exact);
    }

    [ThreadStatic]
    private static ulong[]? _intersectBits;

    // Candidate collections hold ascending offsets. Arrays (the common case) meet in a bitset rather than a merge:
    // a merge of two similar-sized lists mispredicts about every other step, marking and testing bits never does.
    private static int[] IntersectSorted(int[] a, int[] b)
    {
        if (a.Length == 0 || b.Length == 0)
            return [];
        if (a.Length > b.Length)
            (a, b) = (b, a);
        var bitsB = PostingBits.Of(b);
        if (PostingBits.Of(a) is { } bitsA && bitsB is not null)
            return PostingBits.And(bitsA, bitsB);
        if (bitsB is not null)
            return PostingBits.Filter(a, bitsB);
        var words = (a[^1] >> 6) + 1;
        var bits = _intersectBits;
        if (bits is null || bits.Length < words)
            _intersectBits = bits = new ulong[Math.Max(words, 1024)];
        foreach (var x in a)
            bits[x >> 6] |= 1UL << x;
        var matches = new List<int>(a.Length);
        foreach (var y in b)
        {
            if (y >= a[^1] + 1)
                break;
            if ((bits[y >> 6] & (1UL << y)) != 0)
                matches.Add(y);
        }

        // Clear only the words the smaller list touched.
        foreach (var x in a)
            bits[x >> 6] = 0;
        return [.. matches];
    }

    private static int[] IntersectSorted(IReadOnlyCollection<int> a, IReadOnlyCollection<int> b)
    {
        if (a is int[] left && b is int[] right)
            return IntersectSorted(left, right);
        var result = new List<int>(Math.Min(a.Count, b.Count));
        using var x = a.GetEnumerator();
        using var y = b.GetEnumerator();
        var hasX = x.MoveNext();
        var hasY = y.MoveNext();
        while (hasX && hasY)
        {
            if (x.Current < y.Current)
            {
                hasX = x.MoveNext();
            }
            else if (x.Current > y.Current)
            {
                hasY = y.MoveNext();
            }
            else
            {
                result.Add(x.Current);
                hasX = x.MoveNext();
                hasY = y.MoveNext();
            }
        }

        return [.. result];
    }

    /// <summary>Writes the collection-info <c>payload_schema</c> map: path -> <c>PayloadIndexInfo</c>.</summary>
    public void WriteSchema(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        foreach (var (path, index) in _indexes.OrderBy(p => p.Key.ToString(), StringComparer.Ordinal))
        {
            writer.WritePropertyName(path.ToString());
            index.WriteInfo(writer);
        }

        writer.WriteEndObject();
    }
}
