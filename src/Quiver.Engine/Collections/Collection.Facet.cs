using Quiver.Segment.Errors;
using Quiver.Segment.Filtering;
using Quiver.Segment.Payloads;

namespace Quiver.Engine.Collections;

/// <summary>One value of a facet and how many points hold it.</summary>
public sealed record FacetHit(object Value, long Count);

public sealed partial class Collection
{
    /// <summary>
    /// The <paramref name="limit"/> values of payload key <paramref name="key"/> held by the most points matching
    /// <paramref name="filter"/> (ties by value), counted from the key's payload index, which must be a keyword,
    /// integer, bool or uuid index (as in Qdrant). Counts are exact: every segment's index is read under its
    /// shard's read lock.
    /// </summary>
    public IReadOnlyList<FacetHit> Facet(string key, Filter? filter, int limit)
    {
        if (limit < 1 || limit > MaxLimit)
            throw QuiverException.BadInput($"limit: expected an integer from 1 to {MaxLimit}");
        var path = JsonPath.Parse(key, "key");
        var counts = new Dictionary<object, long>();
        var indexed = false;
        foreach (var shard in ReadShards)
        {
            indexed |= shard.Read(set =>
            {
                var any = false;
                foreach (var segment in set.Segments)
                    any |= segment.Facet(path, filter, counts);
                return any;
            });
        }

        if (!indexed)
            throw QuiverException.BadInput($"key: facets are counted from a payload index, and \"{key}\" has none of type keyword, integer, bool or uuid; create one with PUT /collections/{Name}/index");
        var hits = counts.Select(c => new FacetHit(c.Key, c.Value)).ToList();
        hits.Sort((a, b) => a.Count != b.Count ? b.Count.CompareTo(a.Count) : CompareValues(a.Value, b.Value));
        return hits.Count > limit ? hits[..limit] : hits;
    }

    /// <summary>Facet values of one key share a type: strings compare ordinally, numbers and bools naturally.</summary>
    private static int CompareValues(object a, object b) => a is string x && b is string y
        ? string.CompareOrdinal(x, y)
        : System.Collections.Comparer.DefaultInvariant.Compare(a, b);
}
