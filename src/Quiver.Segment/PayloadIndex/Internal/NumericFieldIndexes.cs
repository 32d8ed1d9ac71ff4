using System.Text.Json;
using Quiver.Segment.Filtering;
using Quiver.Segment.Filtering.Internal;
using Quiver.Segment.Payloads;

namespace Quiver.Segment.PayloadIndex.Internal;

/// <summary>Common code of the ordered (range-capable) indexes.</summary>
internal abstract class OrderedFieldIndex<T> : PayloadFieldIndex
    where T : struct, IComparable<T>
{
    private protected OrderedFieldIndex(JsonPath path, PayloadFieldSchema schema)
        : base(path, schema)
    {
    }

    public override bool SupportsOrdering => true;

    private protected OrderedValues<T> Values { get; } = new();

    private protected abstract bool TryValue(JsonElement value, out T result);

    private protected abstract double ToDouble(T value);

    /// <summary>Inclusive bounds covering the condition's range and a precise check, or false if not served.</summary>
    private protected abstract bool TryRange(FieldCondition c, out T lo, out T hi, out Func<T, bool> contains);

    /// <summary>Inclusive bounds for <see cref="Ordered"/>.</summary>
    private protected abstract (T Lo, T Hi) OrderBounds(bool descending, double? startFrom);

    private protected override bool AddValues(int offset, List<JsonElement> values)
    {
        var any = false;
        foreach (var v in values)
        {
            if (TryValue(v, out var x))
            {
                Values.Add(x, offset);
                any = true;
            }
        }

        return any;
    }

    private protected override void RemoveValues(int offset, List<JsonElement> values)
    {
        foreach (var v in values)
        {
            if (TryValue(v, out var x))
                Values.Remove(x, offset);
        }
    }

    private protected override IEnumerable<int>? Candidates(FieldCondition condition)
    {
        if (!TryRange(condition, out var lo, out var hi, out var contains))
            return null;
        var result = new HashSet<int>();
        foreach (var (value, offset) in Values.Between(lo, hi))
        {
            if (contains(value))
                result.Add(offset);
        }

        return result;
    }

    private protected override long Estimate(FieldCondition condition)
    {
        var c = Candidates(condition);
        return c is null ? -1 : c.Count();
    }

    public override IEnumerable<(double Value, int Offset)> Ordered(bool descending, double? startFrom)
    {
        var (lo, hi) = OrderBounds(descending, startFrom);
        foreach (var (value, offset) in Values.Between(lo, hi, descending))
            yield return (ToDouble(value), offset);
    }

    private protected static long CeilToLong(double x) =>
        x >= 9.2233720368547758E18 ? long.MaxValue : x <= -9.2233720368547758E18 ? long.MinValue : (long)Math.Ceiling(x);

    private protected static long FloorToLong(double x) =>
        x >= 9.2233720368547758E18 ? long.MaxValue : x <= -9.2233720368547758E18 ? long.MinValue : (long)Math.Floor(x);
}

/// <summary>Integer index: integral JSON numbers (Qdrant: <c>as_i64</c>; floats, even 1.0, are not indexed).</summary>
internal sealed class IntegerFieldIndex(JsonPath path, PayloadFieldSchema schema) : OrderedFieldIndex<long>(path, schema)
{
    public override IEnumerable<(object Value, IEnumerable<int> Points)>? FacetValues() =>
        Values.Between(long.MinValue, long.MaxValue).GroupBy(v => v.Value, v => v.Offset).Select(g => ((object)g.Key, (IEnumerable<int>)g.Distinct()));

    private readonly PostingLists<long> _lookup = new();

    private protected override bool TryValue(JsonElement value, out long result)
    {
        result = 0;
        return value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out result);
    }

    private protected override double ToDouble(long value) => value;

    private protected override bool AddValues(int offset, List<JsonElement> values)
    {
        foreach (var v in values)
        {
            if (TryValue(v, out var x))
                _lookup.Add(x, offset);
        }

        return base.AddValues(offset, values);
    }

    private protected override void RemoveValues(int offset, List<JsonElement> values)
    {
        foreach (var v in values)
        {
            if (TryValue(v, out var x))
                _lookup.Remove(x, offset);
        }

        base.RemoveValues(offset, values);
    }

    private protected override IEnumerable<int>? Candidates(FieldCondition condition)
    {
        var keys = MatchKeys(condition);
        return keys is null ? base.Candidates(condition) : _lookup.Union(keys);
    }

    private protected override long Estimate(FieldCondition condition)
    {
        var keys = MatchKeys(condition);
        return keys is null ? base.Estimate(condition) : Math.Min(_lookup.CountAny(keys), PointsCount);
    }

    internal override IEnumerable<(string Key, int[] Points)> ValueBlocks(int minPoints) =>
        _lookup.Blocks(minPoints).Select(b => (BlockKeyOf(b.Key), b.Points));

    internal override string? BlockKey(MatchCondition match) =>
        MatchKeys(match) is { } keys && keys.Take(2).Count() == 1 ? BlockKeyOf(keys.First()) : null;

    private static string BlockKeyOf(long value) => "i:" + value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The integers a match condition asks for, or null when it is not a match this index answers by key.</summary>
    private static IEnumerable<long>? MatchKeys(FieldCondition condition) => MatchKeys(condition.Match);

    private static IEnumerable<long>? MatchKeys(MatchCondition? match) => match switch
    {
        MatchValue { Kind: MatchValueKind.Integer } v => [v.Integer],
        MatchAny { IsExcept: false, Integers: { } list } => list,
        _ => null,
    };

    private protected override bool TryRange(FieldCondition c, out long lo, out long hi, out Func<long, bool> contains)
    {
        lo = long.MinValue;
        hi = long.MaxValue;
        contains = static _ => false;
        if (c.Range is not { } r)
            return false;
        if (r.Gte is { } gte)
            lo = Math.Max(lo, CeilToLong(gte));
        if (r.Gt is { } gt)
            lo = Math.Max(lo, FloorToLong(gt) == long.MaxValue ? long.MaxValue : FloorToLong(gt) + 1);
        if (r.Lte is { } lte)
            hi = Math.Min(hi, FloorToLong(lte));
        if (r.Lt is { } lt)
            hi = Math.Min(hi, CeilToLong(lt) == long.MinValue ? long.MinValue : CeilToLong(lt) - 1);
        contains = v => r.Contains(v);
        return true;
    }

    private protected override (long Lo, long Hi) OrderBounds(bool descending, double? startFrom) => startFrom switch
    {
        null => (long.MinValue, long.MaxValue),
        { } s when descending => (long.MinValue, FloorToLong(s)),
        { } s => (CeilToLong(s), long.MaxValue),
    };
}

/// <summary>Float index: every JSON number, as a double.</summary>
internal sealed class FloatFieldIndex(JsonPath path, PayloadFieldSchema schema) : OrderedFieldIndex<double>(path, schema)
{
    private protected override bool TryValue(JsonElement value, out double result)
    {
        result = 0;
        return value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out result) && double.IsFinite(result);
    }

    private protected override double ToDouble(double value) => value;

    private protected override bool TryRange(FieldCondition c, out double lo, out double hi, out Func<double, bool> contains)
    {
        lo = double.NegativeInfinity;
        hi = double.PositiveInfinity;
        contains = static _ => false;
        if (c.Range is not { } r)
            return false;
        lo = Math.Max(r.Gte ?? double.NegativeInfinity, r.Gt ?? double.NegativeInfinity);
        hi = Math.Min(r.Lte ?? double.PositiveInfinity, r.Lt ?? double.PositiveInfinity);
        contains = r.Contains;
        return true;
    }

    private protected override (double Lo, double Hi) OrderBounds(bool descending, double? startFrom) => startFrom switch
    {
        null => (double.NegativeInfinity, double.PositiveInfinity),
        { } s when descending => (double.NegativeInfinity, s),
        { } s => (s, double.PositiveInfinity),
    };
}

/// <summary>Datetime index: strings in a Qdrant date-time format, as UTC microseconds.</summary>
internal sealed class DatetimeFieldIndex(JsonPath path, PayloadFieldSchema schema) : OrderedFieldIndex<long>(path, schema)
{
    private protected override bool TryValue(JsonElement value, out long result) => QdrantDateTime.TryParse(value, out result);

    private protected override double ToDouble(long value) => value;

    private protected override bool TryRange(FieldCondition c, out long lo, out long hi, out Func<long, bool> contains)
    {
        lo = long.MinValue;
        hi = long.MaxValue;
        contains = static _ => false;
        if (c.DatetimeRange is not { } r)
            return false;
        lo = Math.Max(r.Gte ?? long.MinValue, r.Gt is { } gt && gt < long.MaxValue ? gt + 1 : r.Gt ?? long.MinValue);
        hi = Math.Min(r.Lte ?? long.MaxValue, r.Lt is { } lt && lt > long.MinValue ? lt - 1 : r.Lt ?? long.MaxValue);
        contains = r.Contains;
        return true;
    }

    // order_by start_from on a datetime field is given in microseconds here (the caller converts).
    private protected override (long Lo, long Hi) OrderBounds(bool descending, double? startFrom) => startFrom switch
    {
        null => (long.MinValue, long.MaxValue),
        { } s when descending => (long.MinValue, FloorToLong(s)),
        { } s => (CeilToLong(s), long.MaxValue),
    };
}
