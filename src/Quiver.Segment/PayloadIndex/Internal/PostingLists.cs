using System.Collections.Concurrent;

namespace Quiver.Segment.PayloadIndex.Internal;

/// <summary>
/// Points per indexed key, with each key's points also kept as a sorted array once asked for (until the key
/// changes): index-answered filters reuse the same array query after query. Changes come one at a time (the
/// shard's write lock); the cache is filled by concurrent readers, hence a concurrent dictionary.
/// </summary>
internal sealed class PostingLists<TKey>(IEqualityComparer<TKey>? comparer = null)
    where TKey : notnull
{
    private readonly Dictionary<TKey, HashSet<int>> _postings = new(comparer);
    private readonly ConcurrentDictionary<TKey, int[]> _sorted = new(comparer ?? EqualityComparer<TKey>.Default);

    public void Add(TKey key, int offset)
    {
        if (!_postings.TryGetValue(key, out var set))
            _postings[key] = set = [];
        set.Add(offset);
        _sorted.TryRemove(key, out _);
    }

    public void Remove(TKey key, int offset)
    {
        _sorted.TryRemove(key, out _);
        if (_postings.TryGetValue(key, out var set) && set.Remove(offset) && set.Count == 0)
            _postings.Remove(key);
    }

    public int Count(TKey key) => _postings.TryGetValue(key, out var set) ? set.Count : 0;

    /// <summary>Every key with its points (a view: read it under the lock that orders changes).</summary>
    public IEnumerable<(TKey Key, IReadOnlyCollection<int> Points)> All() => _postings.Select(p => (p.Key, (IReadOnlyCollection<int>)p.Value));

    /// <summary>Points having any of <paramref name="keys"/>: the cached sorted array for one key, a set for several.</summary>
    public IEnumerable<int> Union(IEnumerable<TKey> keys)
    {
        if (keys.Take(2).Count() == 1)
            return Sorted(keys.First());
        var result = new HashSet<int>();
        foreach (var key in keys)
        {
            if (_postings.TryGetValue(key, out var set))
                result.UnionWith(set);
        }

        return result;
    }

    public long CountAny(IEnumerable<TKey> keys) => keys.Sum(k => (long)Count(k));

    /// <summary>The keys held by more than <paramref name="minCount"/> points, with their points ascending.</summary>
    public IEnumerable<(TKey Key, int[] Points)> Blocks(int minCount)
    {
        // Keys first: the sorted arrays are built (and cached) outside the enumeration of the dictionary.
        foreach (var key in _postings.Where(p => p.Value.Count > minCount).Select(p => p.Key).ToList())
            yield return (key, Sorted(key));
    }

    private int[] Sorted(TKey key)
    {
        if (_sorted.TryGetValue(key, out var sorted))
            return sorted;
        if (!_postings.TryGetValue(key, out var set))
            return [];
        sorted = [.. set];
        Array.Sort(sorted);
        PostingBits.Attach(sorted);
        // Racing readers may each build one; all equal, one is kept.
        return _sorted.GetOrAdd(key, sorted);
    }
}
