using Quiver.Segment.Payloads;

namespace Quiver.Segment.Filtering;

/// <summary>
/// A condition on the values at <see cref="Key"/>. At least one part is set; when several are set the condition
/// matches if any part does, as Qdrant's <c>FieldCondition::check</c> ORs them.
/// </summary>
public sealed class FieldCondition : Condition
{
    public FieldCondition(
        JsonPath key,
        MatchCondition? match = null,
        NumberRange? range = null,
        DatetimeRange? datetimeRange = null,
        ValuesCount? valuesCount = null,
        bool? isEmpty = null,
        bool? isNull = null)
    {
        Key = key;
        Match = match;
        Range = range;
        DatetimeRange = datetimeRange;
        ValuesCount = valuesCount;
        IsEmpty = isEmpty;
        IsNull = isNull;
    }

    public JsonPath Key { get; }

    public MatchCondition? Match { get; }

    public NumberRange? Range { get; }

    public DatetimeRange? DatetimeRange { get; }

    public ValuesCount? ValuesCount { get; }

    /// <summary>Alternative syntax: <c>{"key":"k","is_empty":true}</c>; false means "not empty".</summary>
    public bool? IsEmpty { get; }

    /// <summary>Alternative syntax: <c>{"key":"k","is_null":true}</c>; false means "not null".</summary>
    public bool? IsNull { get; }
}
