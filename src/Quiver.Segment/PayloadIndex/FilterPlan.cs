using Quiver.Segment.Filtering;
using Quiver.Segment.Payloads;

namespace Quiver.Segment.PayloadIndex;

/// <summary>
/// How to run a filter on a segment: <see cref="Candidates"/> (ascending offsets) from the most selective indexed
/// <c>must</c> condition, or null for a full scan. Either way every candidate must still pass
/// <see cref="Filter"/>, which is compiled against the segment's indexes.
/// </summary>
public sealed class FilterPlan(CompiledFilter filter, IReadOnlyCollection<int>? candidates, JsonPath? indexedKey, long estimate, bool candidatesAreExact = false)
{
    /// <summary>
    /// True when <see cref="Candidates"/> is exactly the set of matching points (every clause of the filter was
    /// answered by an index), so checking membership replaces evaluating the filter.
    /// </summary>
    public bool CandidatesAreExact { get; } = candidatesAreExact && candidates is not null;

    public CompiledFilter Filter { get; } = filter;

    public IReadOnlyCollection<int>? Candidates { get; } = candidates;

    /// <summary>The key whose index produced <see cref="Candidates"/>.</summary>
    public JsonPath? IndexedKey { get; } = indexedKey;

    /// <summary>The index's cardinality estimate for the chosen condition, or -1 for a full scan.</summary>
    public long EstimatedCardinality { get; } = estimate;

    public bool IsFullScan => Candidates is null;
}
