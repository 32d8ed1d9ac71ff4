using Quiver.Segment.Filtering.Internal;
using Quiver.Segment.Payloads;

namespace Quiver.Segment.Filtering;

/// <summary>
/// A filter compiled once per request (matchers built, sets hashed, text-index awareness resolved);
/// <see cref="Matches"/> is then cheap per point. Immutable and safe to share between threads.
/// </summary>
public sealed class CompiledFilter
{
    private readonly Predicate _root;

    internal CompiledFilter(Filter filter, IFilterContext? context)
    {
        ArgumentNullException.ThrowIfNull(filter);
        Filter = filter;
        _root = CompileFilter(filter, context, null);
    }

    public Filter Filter { get; }

    public bool Matches(IFilterTarget point)
    {
        ArgumentNullException.ThrowIfNull(point);
        // A payload may be read from disk (on_disk_payload): not for a filter on ids or vectors alone.
        return _root.Eval(point, _root.ReadsPayload ? point.Payload.Root : default);
    }

    private static FilterPredicate CompileFilter(Filter f, IFilterContext? context, JsonPath? prefix) => new(
        CompileList(f.Must, context, prefix),
        CompileList(f.Should, context, prefix),
        CompileList(f.MustNot, context, prefix),
        CompileList(f.MinShould?.Conditions, context, prefix),
        f.MinShould?.MinCount ?? 0);

    private static Predicate[]? CompileList(IReadOnlyList<Condition>? list, IFilterContext? context, JsonPath? prefix)
    {
        if (list is null)
            return null;
        var result = new Predicate[list.Count];
        for (var i = 0; i < list.Count; i++)
            result[i] = Compile(list[i], context, prefix);
        return result;
    }

    private static Predicate Compile(Condition c, IFilterContext? context, JsonPath? prefix) => c switch
    {
        FieldCondition f => CompileField(f, context, prefix),
        IsEmptyCondition e => new IsEmptyPredicate(e.Key),
        IsNullCondition n => new IsNullPredicate(n.Key),
        HasIdCondition h => new HasIdPredicate(h.Ids),
        HasVectorCondition v => new HasVectorPredicate(v.Vector),
        ShardRoutingCondition r => new ShardRoutingPredicate(r.ShardNumber, r.Shard),
        // Indexes on "<array>[].<key>" apply to "<key>" inside the nested filter, as Qdrant's select_nested_indexes.
        NestedCondition n => new NestedPredicate(
            n.Key.ArrayElements(),
            CompileFilter(n.Filter, context, Join(prefix, n.Key.ArrayElements()))),
        FilterCondition f => CompileFilter(f.Filter, context, prefix),
        _ => throw new ArgumentOutOfRangeException(nameof(c)),
    };

    private static FieldPredicate CompileField(FieldCondition f, IFilterContext? context, JsonPath? prefix)
    {
        var matchers = new List<ValueMatcher>(2);
        if (f.Match is not null)
            matchers.Add(ValueMatcher.For(f.Match, context?.GetTextTokenizer(Join(prefix, f.Key))));
        if (f.Range is not null)
            matchers.Add(new NumberRangeMatcher(f.Range));
        if (f.DatetimeRange is not null)
            matchers.Add(new DatetimeRangeMatcher(f.DatetimeRange));
        return new FieldPredicate(f.Key, [.. matchers], f.ValuesCount, f.IsEmpty, f.IsNull);
    }

    private static JsonPath Join(JsonPath? prefix, JsonPath key) => prefix is null ? key : prefix.Concat(key);
}
