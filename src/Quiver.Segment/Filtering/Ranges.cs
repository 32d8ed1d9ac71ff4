namespace Quiver.Segment.Filtering;

/// <summary><c>range</c> on numbers (integers and floats alike, compared as doubles).</summary>
public sealed class NumberRange(double? lt, double? gt, double? gte, double? lte)
{
    public double? Lt { get; } = lt;

    public double? Gt { get; } = gt;

    public double? Gte { get; } = gte;

    public double? Lte { get; } = lte;

    public bool Contains(double value) =>
        (Lt is not { } lt || value < lt) &&
        (Gt is not { } gt || value > gt) &&
        (Gte is not { } gte || value >= gte) &&
        (Lte is not { } lte || value <= lte);
}

/// <summary>
/// <c>range</c> with date-time bounds, held as UTC microseconds since the Unix epoch (Qdrant's representation),
/// so values are compared as instants whatever their offset.
/// </summary>
public sealed class DatetimeRange(long? lt, long? gt, long? gte, long? lte)
{
    public long? Lt { get; } = lt;

    public long? Gt { get; } = gt;

    public long? Gte { get; } = gte;

    public long? Lte { get; } = lte;

    public bool Contains(long micros) =>
        (Lt is not { } lt || micros < lt) &&
        (Gt is not { } gt || micros > gt) &&
        (Gte is not { } gte || micros >= gte) &&
        (Lte is not { } lte || micros <= lte);
}

/// <summary><c>values_count</c>: number of values at the key (array length; a scalar counts 1, null 0).</summary>
public sealed class ValuesCount(long? lt, long? gt, long? gte, long? lte)
{
    public long? Lt { get; } = lt;

    public long? Gt { get; } = gt;

    public long? Gte { get; } = gte;

    public long? Lte { get; } = lte;

    public bool Contains(long count) =>
        (Lt is not { } lt || count < lt) &&
        (Gt is not { } gt || count > gt) &&
        (Gte is not { } gte || count >= gte) &&
        (Lte is not { } lte || count <= lte);
}
