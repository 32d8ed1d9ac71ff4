using Quiver.Segment.Payloads;
using Quiver.Segment.Points;

namespace Quiver.Segment.Filtering;

/// <summary>One filter condition. The concrete kinds are the sealed classes in this namespace.</summary>
public abstract class Condition
{
    private protected Condition()
    {
    }
}

/// <summary><c>{"is_empty":{"key":...}}</c>: the key is missing, null, or an empty array.</summary>
public sealed class IsEmptyCondition(JsonPath key) : Condition
{
    public JsonPath Key { get; } = key;
}

/// <summary><c>{"is_null":{"key":...}}</c>: the value at the key is null (not <c>[null]</c>, not missing).</summary>
public sealed class IsNullCondition(JsonPath key) : Condition
{
    public JsonPath Key { get; } = key;
}

/// <summary><c>{"has_id":[...]}</c>.</summary>
public sealed class HasIdCondition(IReadOnlySet<PointId> ids) : Condition
{
    public IReadOnlySet<PointId> Ids { get; } = ids;
}

/// <summary><c>{"has_vector":"name"}</c>; the unnamed default vector is <c>""</c>.</summary>
public sealed class HasVectorCondition(string vector) : Condition
{
    public string Vector { get; } = vector;
}

/// <summary>
/// <c>{"nested":{"key":...,"filter":{...}}}</c>: matches when some element of the array at
/// <see cref="Key"/> satisfies the whole <see cref="Filter"/> on its own.
/// </summary>
public sealed class NestedCondition(JsonPath key, Filter filter) : Condition
{
    public JsonPath Key { get; } = key;

    public Filter Filter { get; } = filter;
}

/// <summary>
/// <c>{"quiver_shard_of":{"shard_number":N,"shard":s}}</c>: the point lives in shard s of N (Quiver's own; resharding
/// restricts a filtered operation copied from an old shard's log to the points that came from that shard).
/// </summary>
public sealed class ShardRoutingCondition(int shardNumber, int shard) : Condition
{
    public int ShardNumber { get; } = shardNumber;

    public int Shard { get; } = shard;
}

/// <summary>A filter used as a condition.</summary>
public sealed class FilterCondition(Filter filter) : Condition
{
    public Filter Filter { get; } = filter;
}
