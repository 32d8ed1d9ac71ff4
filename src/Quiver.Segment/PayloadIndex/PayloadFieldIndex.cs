using System.Text.Json;
using Quiver.Segment.Filtering;
using Quiver.Segment.PayloadIndex.Internal;
using Quiver.Segment.Payloads;

namespace Quiver.Segment.PayloadIndex;

/// <summary>
/// An index over the values at one payload path, of one schema type, maintained incrementally as points are
/// added and removed (by segment-local offset). Values are extracted as filters see them: a leaf array is
/// flattened one level; values of other types are not indexed (Qdrant: a keyword index ignores numbers, an
/// integer index ignores floats and strings). Not thread-safe: the owning segment serialises writers.
/// </summary>
public abstract class PayloadFieldIndex
{
    private readonly HashSet<int> _points = [];

    private protected PayloadFieldIndex(JsonPath path, PayloadFieldSchema schema)
    {
        Path = path;
        Schema = schema;
    }

    public JsonPath Path { get; }

    public PayloadFieldSchema Schema { get; }

    /// <summary>Points with at least one indexed value.</summary>
    public int PointsCount => _points.Count;

    /// <summary>True for integer, float and datetime indexes, which serve <c>order_by</c>.</summary>
    public virtual bool SupportsOrdering => false;

    public static PayloadFieldIndex Create(JsonPath path, PayloadFieldSchema schema)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(schema);
        return schema.Type switch
        {
            PayloadSchemaType.Keyword => new KeywordFieldIndex(path, schema),
            PayloadSchemaType.Uuid => new UuidFieldIndex(path, schema),
            PayloadSchemaType.Bool => new BoolFieldIndex(path, schema),
            PayloadSchemaType.Integer => new IntegerFieldIndex(path, schema),
            PayloadSchemaType.Float => new FloatFieldIndex(path, schema),
            PayloadSchemaType.Datetime => new DatetimeFieldIndex(path, schema),
            PayloadSchemaType.Text => new TextFieldIndex(path, schema),
            _ => throw new NotSupportedException($"{schema.TypeName} indexes are not supported yet"),
        };
    }

    public void Add(int offset, Payload payload)
    {
        ArgumentNullException.ThrowIfNull(payload);
        var values = new List<JsonElement>();
        Path.Collect(payload.Root, values);
        if (AddValues(offset, values))
            _points.Add(offset);
    }

    /// <summary>Removes a point; <paramref name="payload"/> must be the payload it was added with.</summary>
    public void Remove(int offset, Payload payload)
    {
        ArgumentNullException.ThrowIfNull(payload);
        var values = new List<JsonElement>();
        Path.Collect(payload.Root, values);
        RemoveValues(offset, values);
        _points.Remove(offset);
    }

    /// <summary>
    /// The offsets (ascending, distinct) of points matching <paramref name="condition"/>, when this index can
    /// serve it: a condition on <see cref="Path"/> with a single match or range part of a kind the index supports.
    /// </summary>
    public bool TryGetCandidates(FieldCondition condition, out IReadOnlyCollection<int> offsets)
    {
        ArgumentNullException.ThrowIfNull(condition);
        offsets = [];
        if (!IsSimple(condition))
            return false;
        var result = Candidates(condition);
        if (result is null)
            return false;
        // Indexes hand back int[] only when it is already sorted (a cached posting list); never mutate it.
        if (result is int[] ready)
        {
            offsets = ready;
            return true;
        }

        var sorted = result.ToArray();
        Array.Sort(sorted);
        offsets = sorted;
        return true;
    }

    /// <summary>Estimated number of matching points, or -1 when this index cannot serve the condition.</summary>
    public long EstimateCardinality(FieldCondition condition)
    {
        ArgumentNullException.ThrowIfNull(condition);
        return IsSimple(condition) ? Estimate(condition) : -1;
    }

    /// <summary>
    /// Indexed values in order with their points, for <c>order_by</c>: ascending from <paramref name="startFrom"/>
    /// (values &gt;= it) or descending (values &lt;= it). A point appears once per distinct value.
    /// </summary>
    public virtual IEnumerable<(double Value, int Offset)> Ordered(bool descending, double? startFrom) =>
        throw new NotSupportedException($"a {Schema.TypeName} index does not support ordering");

    /// <summary>
    /// The exact values held by more than <paramref name="minPoints"/> points, each with a key naming the value
    /// (see <see cref="BlockKey"/>) and its points (ascending): the blocks a segment builds payload graphs for.
    /// Empty for indexes without exact values (ranges, text).
    /// </summary>
    internal virtual IEnumerable<(string Key, int[] Points)> ValueBlocks(int minPoints) => [];

    /// <summary>
    /// Each exact value with the points holding it (a point once per value, however often it repeats the value):
    /// keyword and uuid values as strings, integers as longs, bools as bools. Null for indexes that cannot facet
    /// (float, datetime, text), as in Qdrant.
    /// </summary>
    public virtual IEnumerable<(object Value, IEnumerable<int> Points)>? FacetValues() => null;

    /// <summary>The key of the one value <paramref name="match"/> asks for, as <see cref="ValueBlocks"/> names it; null when it asks for none or several.</summary>
    internal virtual string? BlockKey(MatchCondition match) => null;

    /// <summary>Writes the spec's <c>PayloadIndexInfo</c>.</summary>
    public void WriteInfo(Utf8JsonWriter writer) => Schema.WriteInfo(writer, PointsCount);

    /// <summary>Indexes the values of a point; true when at least one was indexed.</summary>
    private protected abstract bool AddValues(int offset, List<JsonElement> values);

    private protected abstract void RemoveValues(int offset, List<JsonElement> values);

    /// <summary>Matching offsets (any order, may repeat), or null when the condition is not served.</summary>
    private protected abstract IEnumerable<int>? Candidates(FieldCondition condition);

    private protected abstract long Estimate(FieldCondition condition);

    private bool IsSimple(FieldCondition c) =>
        c.Key.Equals(Path) && c.ValuesCount is null && c.IsEmpty is null && c.IsNull is null &&
        (c.Match is null ? 0 : 1) + (c.Range is null ? 0 : 1) + (c.DatetimeRange is null ? 0 : 1) == 1;
}
