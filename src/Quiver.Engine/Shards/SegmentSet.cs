using Quiver.Segment.Filtering;
using Quiver.Segment.Points;
using Quiver.Segment.Segments;

namespace Quiver.Engine.Shards;

/// <summary>One hit of a shard search: the internal score, the point's id and version, and where it lives.</summary>
internal readonly record struct SegmentHit(float Score, PointId Id, ulong Version, PointSegment Segment, int Offset);

/// <summary>
/// The segments of a shard: sealed ones (indexed, or waiting for the optimizer) and, last, the one appendable
/// segment. A point lives in exactly one segment. Readers use it under the shard's read lock; the array is
/// replaced (never changed in place) when the optimizer swaps segments.
/// </summary>
internal sealed class SegmentSet(PointSegment[] segments)
{
    public PointSegment[] Segments { get; } = segments;

    public PointSegment Appendable => Segments[^1];

    public long LiveCount => Segments.Sum(s => (long)s.LiveCount);

    public long IndexedVectorCount => Segments.Sum(s => s.IndexedVectorCount());

    public bool TryLocate(PointId id, out PointSegment segment, out int offset)
    {
        // Newest first: a point moved out of a sealed segment is found where it lives now.
        for (var i = Segments.Length - 1; i >= 0; i--)
        {
            if (Segments[i].TryGetOffset(id, out offset))
            {
                segment = Segments[i];
                return true;
            }
        }

        segment = null!;
        offset = -1;
        return false;
    }

    public long Count(Filter? filter) => Segments.Sum(s => s.Count(filter));

    public List<PointId> Select(Filter filter)
    {
        var result = new List<PointId>();
        foreach (var s in Segments)
            result.AddRange(s.Select(filter));
        return result;
    }

    /// <summary>The first <paramref name="limit"/> matching ids from <paramref name="from"/>, ascending, over all segments.</summary>
    public List<PointId> ScrollIds(Filter? filter, PointId? from, int limit)
    {
        if (Segments.Length == 1)
            return Segments[0].ScrollIds(filter, from, limit);
        var merged = new List<PointId>();
        foreach (var s in Segments)
            merged.AddRange(s.ScrollIds(filter, from, limit));
        merged.Sort();
        if (merged.Count > limit)
            merged.RemoveRange(limit, merged.Count - limit);
        return merged;
    }

    /// <summary>Ordered by a payload key over all segments, or null when the key has no ordering index.</summary>
    public List<(PointSegment Segment, int Offset, double Value)>? ScrollOrdered(Filter? filter, string key, bool descending, double? startFrom, int limit)
    {
        var merged = new List<(PointSegment, int, double)>();
        foreach (var s in Segments)
        {
            var rows = s.ScrollOrdered(filter, key, descending, startFrom, limit);
            if (rows is null)
                return null;
            merged.AddRange(rows.Select(r => (s, r.Offset, r.Value)));
        }

        return merged;
    }

    /// <summary>
    /// Appends each segment's top <paramref name="k"/> to <paramref name="hits"/>, segment by segment (each
    /// segment's hits best first, segments in order).
    /// </summary>
    public void Search(string space, ReadOnlySpan<float> query, Filter? filter, int k, float? threshold, SegmentSearchParams parameters, bool indexedOnly, SearchBuffer hits, CancellationToken cancellationToken)
    {
        foreach (var s in Segments)
        {
            // Typically the empty appendable segment after an optimization: nothing to find.
            if (s.LiveCount == 0)
                continue;
            var spaceIndex = s.SpaceIndex(space);
            // indexed_only: indexed segments, and ones small enough that an exact scan is cheap anyway.
            if (indexedOnly && s.Graph(spaceIndex) is null && s.LiveCount > parameters.FullScanThreshold)
                continue;
            var results = hits.SegmentResults(k);
            var found = s.Search(spaceIndex, query, filter, k, threshold, parameters, results, cancellationToken);
            // Id and version are read together: both are likely cache misses, and independent loads overlap.
            for (var i = 0; i < found; i++)
                hits.AddHit(new SegmentHit(results[i].Score, s.IdAt(results[i].Id), s.VersionAt(results[i].Id), s, results[i].Id));
        }
    }

    public IReadOnlyList<PayloadFieldInfo> Describe() => PayloadFieldInfo.Sum(Segments.Select(s => s.Indexes.Describe()));

    public SegmentSet Replace(IReadOnlyCollection<PointSegment> sources, PointSegment replacement)
    {
        var list = new List<PointSegment>(Segments.Length);
        var inserted = false;
        foreach (var s in Segments)
        {
            if (!sources.Contains(s))
            {
                list.Add(s);
            }
            else if (!inserted)
            {
                list.Add(replacement);
                inserted = true;
            }
        }

        return new SegmentSet([.. list]);
    }

    public SegmentSet WithNewAppendable(PointSegment appendable) => new([.. Segments, appendable]);
}
