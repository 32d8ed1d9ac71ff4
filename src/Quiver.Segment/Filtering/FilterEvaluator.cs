namespace Quiver.Segment.Filtering;

/// <summary>One-off evaluation; for many points compile once with <see cref="Filter.Compile"/>.</summary>
public static class FilterEvaluator
{
    public static bool Matches(Filter filter, IFilterTarget point, IFilterContext? context = null)
    {
        ArgumentNullException.ThrowIfNull(filter);
        return filter.Compile(context).Matches(point);
    }
}
