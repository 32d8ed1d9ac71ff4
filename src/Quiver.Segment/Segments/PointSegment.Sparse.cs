using Quiver.Segment.Filtering;
using Quiver.Segment.Points;

namespace Quiver.Segment.Segments;

/// <summary>
/// Sparse vector spaces. A segment keeps whichever sparse vectors it is given, by name (the collection checks names
/// against its config): an appendable segment scores them by a scan, a sealed one through an inverted index built
/// on first search.
/// </summary>
public sealed partial class PointSegment
{
    private readonly Dictionary<string, SparseRows> _sparse = new(StringComparer.Ordinal);

    /// <summary>The sparse spaces this segment has held vectors in.</summary>
    public IEnumerable<string> SparseNames => _sparse.Keys;

    /// <summary>Bytes of sparse vectors and their inverted indexes held in memory.</summary>
    public long SparseBytes => _sparse.Values.Sum(r => r.Bytes);

    public SparseVector? SparseAt(int offset, string name) => _sparse.TryGetValue(name, out var rows) ? rows.Get(offset) : null;

    public bool HasSparse(int offset, string name) => SparseAt(offset, name) is not null;

    private void SetSparse(int offset, string name, SparseVector vector)
    {
        if (!_sparse.TryGetValue(name, out var rows))
            _sparse[name] = rows = new SparseRows(_ids.Length);
        rows.Set(offset, vector);
    }

    private void RemoveSparse(int offset)
    {
        // A sealed segment's rows stay as they are: its inverted index points at them, and searches skip dead rows.
        if (IsSealed)
            return;
        foreach (var rows in _sparse.Values)
            rows.Remove(offset);
    }

    private bool RemoveSparse(int offset, string name)
    {
        if (!_sparse.TryGetValue(name, out var rows) || rows.Get(offset) is null)
            return false;
        rows.Remove(offset);
        return true;
    }

    /// <summary>
    /// Collection statistics for IDF: adds to <paramref name="documentFrequency"/> (parallel to
    /// <paramref name="dimensions"/>) how many live points here have each dimension, and returns how many live points
    /// have a vector in the space at all.
    /// </summary>
    public long SparseStatistics(string name, ReadOnlySpan<uint> dimensions, Span<long> documentFrequency)
    {
        if (!_sparse.TryGetValue(name, out var rows))
            return 0;
        if (IsSealed)
        {
            var postings = rows.Postings(_used);
            for (var i = 0; i < dimensions.Length; i++)
            {
                if (!postings.TryGet(dimensions[i], out var list, out _))
                    continue;
                foreach (var offset in list)
                {
                    if (_live[offset])
                        documentFrequency[i]++;
                }
            }
        }
        else
        {
            for (var offset = 0; offset < _used; offset++)
            {
                if (_live[offset] && rows.Get(offset) is { } row)
                    CountShared(row.Indices, dimensions, documentFrequency);
            }
        }

        long points = 0;
        for (var offset = 0; offset < _used; offset++)
        {
            if (_live[offset] && rows.Get(offset) is not null)
                points++;
        }

        return points;
    }

    private static void CountShared(uint[] row, ReadOnlySpan<uint> dimensions, Span<long> counts)
    {
        int i = 0, j = 0;
        while (i < row.Length && j < dimensions.Length)
        {
            if (row[i] == dimensions[j])
            {
                counts[j]++;
                i++;
                j++;
            }
            else if (row[i] < dimensions[j])
            {
                i++;
            }
            else
            {
                j++;
            }
        }
    }

    /// <summary>
    /// Adds to <paramref name="hits"/> the live points matching <paramref name="filter"/> whose vector in the space
    /// shares a dimension with <paramref name="query"/>, scored by the dot product over shared dimensions; at most
    /// <paramref name="limit"/>, the best (ties by id).
    /// </summary>
    public void SearchSparse(string name, SparseVector query, Filter? filter, int limit, List<(int Offset, float Score)> hits, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(hits);
        if (limit <= 0 || query.Count == 0 || !_sparse.TryGetValue(name, out var rows))
            return;
        var compiled = filter is null ? null : Indexes.Set.Plan(filter).Filter;
        var cursor = new Cursor(this);
        var found = new List<(int Offset, float Score)>();
        bool Passes(int offset)
        {
            if (!_live[offset])
                return false;
            if (compiled is null)
                return true;
            cursor.Offset = offset;
            return compiled.Matches(cursor);
        }

        if (IsSealed)
        {
            // Term-at-a-time over the query's posting lists into one accumulator per row.
            var postings = rows.Postings(_used);
            var scores = new Dictionary<int, float>();
            for (var i = 0; i < query.Count; i++)
            {
                if (!postings.TryGet(query.Indices[i], out var list, out var values))
                    continue;
                cancellationToken.ThrowIfCancellationRequested();
                var weight = query.Values[i];
                for (var p = 0; p < list.Length; p++)
                    scores[list[p]] = scores.GetValueOrDefault(list[p]) + (weight * values[p]);
            }

            foreach (var (offset, score) in scores)
            {
                if (Passes(offset))
                    found.Add((offset, score));
            }
        }
        else
        {
            for (var offset = 0; offset < _used; offset++)
            {
                if ((offset & (CancellationCheckInterval - 1)) == 0)
                    cancellationToken.ThrowIfCancellationRequested();
                if (rows.Get(offset) is { } row && row.Overlaps(query) && Passes(offset))
                    found.Add((offset, row.Dot(query)));
            }
        }

        found.Sort((a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : _ids[a.Offset].CompareTo(_ids[b.Offset]));
        hits.AddRange(found.Count > limit ? found.GetRange(0, limit) : found);
    }
}
