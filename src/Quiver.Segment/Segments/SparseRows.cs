using Quiver.Segment.Points;

namespace Quiver.Segment.Segments;

/// <summary>
/// The sparse vectors of one sparse vector space of a segment, one (or none) per row, and once the segment is
/// sealed an inverted index over them: per dimension, the rows that have it and their values. Rows hold immutable
/// <see cref="SparseVector"/> instances, so a reader that took one under the shard's lock may use it after.
/// </summary>
internal sealed class SparseRows
{
    private SparseVector?[] _rows;
    private SparsePostings? _postings;

    public SparseRows(int capacity) => _rows = new SparseVector?[Math.Max(1, capacity)];

    public int PresentCount { get; private set; }

    public long Bytes { get; private set; }

    public SparseVector? Get(int offset) => offset < _rows.Length ? _rows[offset] : null;

    public void Set(int offset, SparseVector vector)
    {
        if (offset >= _rows.Length)
            Array.Resize(ref _rows, Math.Max(offset + 1, _rows.Length * 2));
        Remove(offset);
        _rows[offset] = vector;
        PresentCount++;
        Bytes += vector.Bytes;
    }

    public void Remove(int offset)
    {
        if (offset < _rows.Length && _rows[offset] is { } old)
        {
            _rows[offset] = null;
            PresentCount--;
            Bytes -= old.Bytes;
        }
    }

    /// <summary>
    /// The inverted index over rows [0, <paramref name="rows"/>), built on first use. Only for a sealed segment,
    /// whose rows never change (a delete flips the live flag, which searches check); racing builders build equal
    /// indexes and one wins.
    /// </summary>
    public SparsePostings Postings(int rows)
    {
        var postings = Volatile.Read(ref _postings);
        if (postings is not null)
            return postings;
        postings = SparsePostings.Build(_rows.AsSpan(0, Math.Min(rows, _rows.Length)));
        return Interlocked.CompareExchange(ref _postings, postings, null) ?? postings;
    }
}

/// <summary>Per dimension, the rows that have it (ascending) and their values.</summary>
internal sealed class SparsePostings
{
    private readonly Dictionary<uint, (int[] Rows, float[] Values)> _lists;

    private SparsePostings(Dictionary<uint, (int[] Rows, float[] Values)> lists) => _lists = lists;

    public long Bytes => _lists.Sum(l => (long)l.Value.Rows.Length * (sizeof(int) + sizeof(float)));

    public bool TryGet(uint dimension, out int[] rows, out float[] values)
    {
        if (_lists.TryGetValue(dimension, out var list))
        {
            (rows, values) = list;
            return true;
        }

        rows = [];
        values = [];
        return false;
    }

    public static SparsePostings Build(ReadOnlySpan<SparseVector?> rows)
    {
        var counts = new Dictionary<uint, int>();
        foreach (var row in rows)
        {
            if (row is null)
                continue;
            foreach (var d in row.Indices)
                counts[d] = counts.GetValueOrDefault(d) + 1;
        }

        var lists = new Dictionary<uint, (int[] Rows, float[] Values)>(counts.Count);
        foreach (var (d, n) in counts)
            lists[d] = (new int[n], new float[n]);
        var filled = new Dictionary<uint, int>(counts.Count);
        for (var offset = 0; offset < rows.Length; offset++)
        {
            if (rows[offset] is not { } row)
                continue;
            for (var i = 0; i < row.Indices.Length; i++)
            {
                var d = row.Indices[i];
                var at = filled.GetValueOrDefault(d);
                var (r, v) = lists[d];
                r[at] = offset;
                v[at] = row.Values[i];
                filled[d] = at + 1;
            }
        }

        return new SparsePostings(lists);
    }
}
