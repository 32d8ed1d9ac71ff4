namespace Quiver.Segment.Filtering;

/// <summary>
/// A Qdrant filter: <c>must</c> (all), <c>should</c> (at least one), <c>must_not</c> (none) and
/// <c>min_should</c> (at least <c>min_count</c>). A clause that was absent or null is <c>null</c> here.
/// </summary>
public sealed class Filter
{
    public Filter(
        IReadOnlyList<Condition>? must = null,
        IReadOnlyList<Condition>? should = null,
        IReadOnlyList<Condition>? mustNot = null,
        MinShould? minShould = null)
    {
        Must = must;
        Should = should;
        MustNot = mustNot;
        MinShould = minShould;
    }

    public static Filter Empty { get; } = new();

    public IReadOnlyList<Condition>? Must { get; }

    /// <summary>
    /// At least one must match. Qdrant: an explicit empty list matches nothing (<c>any</c> over no conditions);
    /// an absent or null clause imposes nothing.
    /// </summary>
    public IReadOnlyList<Condition>? Should { get; }

    public IReadOnlyList<Condition>? MustNot { get; }

    public MinShould? MinShould { get; }

    /// <summary>
    /// Compiles the filter once per request into a predicate that is cheap to evaluate per point.
    /// <paramref name="context"/> tells which fields carry a full-text index (changing <c>match.text</c>
    /// from substring to token semantics); pass the segment's <c>PayloadIndexSet</c>.
    /// </summary>
    public CompiledFilter Compile(IFilterContext? context = null) => new(this, context);
}

/// <summary><c>min_should</c>: at least <see cref="MinCount"/> of <see cref="Conditions"/> must match.</summary>
public sealed class MinShould(IReadOnlyList<Condition> conditions, int minCount)
{
    public IReadOnlyList<Condition> Conditions { get; } = conditions;

    public int MinCount { get; } = minCount;
}
