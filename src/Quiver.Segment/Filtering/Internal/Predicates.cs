using System.Text.Json;
using Quiver.Segment.Payloads;
using Quiver.Segment.Points;

namespace Quiver.Segment.Filtering.Internal;

/// <summary>
/// A compiled condition. <c>point</c> is null inside a nested filter, where the root is an array element
/// and id/vector conditions do not apply (Qdrant checks nested filters without an id tracker).
/// </summary>
internal abstract class Predicate
{
    /// <summary>Whether evaluating reads the payload (not only the point's id or vectors).</summary>
    public virtual bool ReadsPayload => true;

    public abstract bool Eval(IFilterTarget? point, JsonElement root);
}

/// <summary>Rents the scratch lists that collect field values, so warm evaluation does not allocate them.</summary>
internal static class ValueLists
{
    [ThreadStatic]
    private static Stack<List<JsonElement>>? _pool;

    public static List<JsonElement> Rent()
    {
        var pool = _pool ??= new Stack<List<JsonElement>>();
        return pool.Count > 0 ? pool.Pop() : new List<JsonElement>(4);
    }

    public static void Return(List<JsonElement> list)
    {
        list.Clear();
        (_pool ??= new Stack<List<JsonElement>>()).Push(list);
    }
}

internal sealed class FilterPredicate(
    Predicate[]? must, Predicate[]? should, Predicate[]? mustNot, Predicate[]? minShould, int minCount) : Predicate
{
    public override bool ReadsPayload { get; } =
        new[] { must, should, mustNot, minShould }.Any(list => list is not null && list.Any(p => p.ReadsPayload));

    public override bool Eval(IFilterTarget? point, JsonElement root)
    {
        if (must is not null)
        {
            foreach (var p in must)
            {
                if (!p.Eval(point, root))
                    return false;
            }
        }

        if (mustNot is not null)
        {
            foreach (var p in mustNot)
            {
                if (p.Eval(point, root))
                    return false;
            }
        }

        if (should is not null)
        {
            var any = false;
            foreach (var p in should)
            {
                if (p.Eval(point, root))
                {
                    any = true;
                    break;
                }
            }

            if (!any)
                return false;
        }

        if (minShould is not null)
        {
            var count = 0;
            foreach (var p in minShould)
            {
                if (p.Eval(point, root) && ++count >= minCount)
                    break;
            }

            if (count < minCount)
                return false;
        }

        return true;
    }
}

internal sealed class FieldPredicate(
    JsonPath key, ValueMatcher[] matchers, ValuesCount? valuesCount, bool? isEmpty, bool? isNull) : Predicate
{
    public override bool Eval(IFilterTarget? point, JsonElement root)
    {
        var values = ValueLists.Rent();
        try
        {
            if (matchers.Length > 0)
            {
                key.Collect(root, values);
                foreach (var m in matchers)
                {
                    if (m.MatchesAny(values, 0))
                        return true;
                }

                values.Clear();
            }

            if (valuesCount is null && isEmpty is null && isNull is null)
                return false;
            key.CollectRaw(root, values);
            if (valuesCount is not null)
            {
                foreach (var v in values)
                {
                    if (valuesCount.Contains(Count(v)))
                        return true;
                }
            }

            if (isEmpty is { } wantEmpty && IsEmptyPredicate.Check(values) == wantEmpty)
                return true;
            return isNull is { } wantNull && IsNullPredicate.Check(values) == wantNull;
        }
        finally
        {
            ValueLists.Return(values);
        }
    }

    private static long Count(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.Null => 0,
        JsonValueKind.Array => v.GetArrayLength(),
        _ => 1,
    };
}

// Qdrant check_is_empty: every value found is null or []; a missing key (no values) is empty; [null] is not.
internal sealed class IsEmptyPredicate(JsonPath key) : Predicate
{
    public override bool Eval(IFilterTarget? point, JsonElement root)
    {
        var values = ValueLists.Rent();
        try
        {
            key.CollectRaw(root, values);
            return Check(values);
        }
        finally
        {
            ValueLists.Return(values);
        }
    }

    public static bool Check(List<JsonElement> values)
    {
        foreach (var v in values)
        {
            if (v.ValueKind == JsonValueKind.Null || (v.ValueKind == JsonValueKind.Array && v.GetArrayLength() == 0))
                continue;
            return false;
        }

        return true;
    }
}

// Qdrant check_is_null: some value found is null; a missing key, [] and [null] are not null.
internal sealed class IsNullPredicate(JsonPath key) : Predicate
{
    public override bool Eval(IFilterTarget? point, JsonElement root)
    {
        var values = ValueLists.Rent();
        try
        {
            key.CollectRaw(root, values);
            return Check(values);
        }
        finally
        {
            ValueLists.Return(values);
        }
    }

    public static bool Check(List<JsonElement> values) => values.Exists(v => v.ValueKind == JsonValueKind.Null);
}

internal sealed class HasIdPredicate(IReadOnlySet<PointId> ids) : Predicate
{
    public override bool ReadsPayload => false;

    public override bool Eval(IFilterTarget? point, JsonElement root) => point is not null && ids.Contains(point.Id);
}

internal sealed class ShardRoutingPredicate(int shards, int shard) : Predicate
{
    public override bool ReadsPayload => false;

    public override bool Eval(IFilterTarget? point, JsonElement root) => point is not null && point.Id.ShardIn(shards) == shard;
}

internal sealed class HasVectorPredicate(string name) : Predicate
{
    public override bool ReadsPayload => false;

    public override bool Eval(IFilterTarget? point, JsonElement root) => point is not null && point.HasVector(name);
}

internal sealed class NestedPredicate(JsonPath arrayElements, Predicate inner) : Predicate
{
    public override bool Eval(IFilterTarget? point, JsonElement root)
    {
        var values = ValueLists.Rent();
        try
        {
            arrayElements.CollectRaw(root, values);
            foreach (var v in values)
            {
                if (v.ValueKind == JsonValueKind.Object && inner.Eval(null, v))
                    return true;
            }

            return false;
        }
        finally
        {
            ValueLists.Return(values);
        }
    }
}
