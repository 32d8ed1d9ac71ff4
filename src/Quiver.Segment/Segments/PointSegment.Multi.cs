using Quiver.Kernels;
using Quiver.Segment.Filtering;
using Quiver.Segment.Points;

namespace Quiver.Segment.Segments;

/// <summary>
/// Multivector spaces: each point holds several vectors, scored against a multivector query by max_sim (for each
/// query vector its best similarity among the point's vectors, summed), by an exact scan.
/// </summary>
public sealed partial class PointSegment
{
    private readonly Dictionary<string, MultiVector?[]> _multi = new(StringComparer.Ordinal);
    private long _multiBytes;

    /// <summary>The multivector spaces this segment has held vectors in.</summary>
    public IEnumerable<string> MultiNames => _multi.Keys;

    public long MultiBytes => _multiBytes;

    public MultiVector? MultiAt(int offset, string name) =>
        _multi.TryGetValue(name, out var rows) && offset < rows.Length ? rows[offset] : null;

    private void SetMulti(int offset, string name, MultiVector vector)
    {
        if (!_multi.TryGetValue(name, out var rows))
            _multi[name] = rows = new MultiVector?[Math.Max(_ids.Length, offset + 1)];
        if (offset >= rows.Length)
        {
            Array.Resize(ref rows, Math.Max(offset + 1, rows.Length * 2));
            _multi[name] = rows;
        }

        _multiBytes += vector.Bytes - (rows[offset]?.Bytes ?? 0);
        rows[offset] = vector;
    }

    private void RemoveMulti(int offset)
    {
        // A sealed segment's rows stay as they are; searches skip dead rows.
        if (IsSealed)
            return;
        foreach (var name in _multi.Keys)
            RemoveMulti(offset, name);
    }

    private bool RemoveMulti(int offset, string name)
    {
        if (!_multi.TryGetValue(name, out var rows) || offset >= rows.Length || rows[offset] is not { } old)
            return false;
        _multiBytes -= old.Bytes;
        rows[offset] = null;
        return true;
    }

    /// <summary>
    /// max_sim of a query against a stored multivector under <paramref name="metric"/> (higher is closer): each
    /// query vector's best similarity among the stored vectors, summed.
    /// </summary>
    public static float MaxSim(MultiVector query, MultiVector stored, VectorMetric metric) => metric switch
    {
        VectorMetric.Dot => MaxSim<DotKernel>(query, stored),
        VectorMetric.NegSquaredL2 => MaxSim<NegSquaredL2Kernel>(query, stored),
        _ => MaxSim<NegL1Kernel>(query, stored),
    };

    private static float MaxSim<TKernel>(MultiVector query, MultiVector stored)
        where TKernel : IScoreKernel
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(stored);
        var sum = 0f;
        for (var q = 0; q < query.Count; q++)
        {
            var best = float.NegativeInfinity;
            var row = query.Row(q);
            for (var s = 0; s < stored.Count; s++)
                best = MathF.Max(best, TKernel.Score(row, stored.Row(s)));
            sum += best;
        }

        return sum;
    }

    /// <summary>
    /// Adds to <paramref name="hits"/> the best <paramref name="limit"/> live points matching <paramref name="filter"/>
    /// that have a multivector in the space, by max_sim against <paramref name="query"/> (ties by id).
    /// </summary>
    public void SearchMulti(string name, MultiVector query, VectorMetric metric, Filter? filter, int limit, List<(int Offset, float Score)> hits, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(hits);
        if (limit <= 0 || !_multi.TryGetValue(name, out var rows))
            return;
        var compiled = filter is null ? null : Indexes.Set.Plan(filter).Filter;
        var cursor = new Cursor(this);
        var found = new List<(int Offset, float Score)>();
        for (var offset = 0; offset < Math.Min(_used, rows.Length); offset++)
        {
            if ((offset & (CancellationCheckInterval - 1)) == 0)
                cancellationToken.ThrowIfCancellationRequested();
            if (rows[offset] is not { } stored || !_live[offset])
                continue;
            if (compiled is not null)
            {
                cursor.Offset = offset;
                if (!compiled.Matches(cursor))
                    continue;
            }

            found.Add((offset, MaxSim(query, stored, metric)));
        }

        found.Sort((a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : _ids[a.Offset].CompareTo(_ids[b.Offset]));
        hits.AddRange(found.Count > limit ? found.GetRange(0, limit) : found);
    }
}
