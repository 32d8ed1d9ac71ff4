namespace Quiver.Segment.PayloadIndex.Internal;

/// <summary>A sorted set of (value, offset) pairs: range scans and ordered iteration.</summary>
internal sealed class OrderedValues<T>
    where T : struct, IComparable<T>
{
    private readonly SortedSet<(T Value, int Offset)> _set = [];

    public bool Add(T value, int offset) => _set.Add((value, offset));

    public bool Remove(T value, int offset) => _set.Remove((value, offset));

    /// <summary>Pairs with lo &lt;= value &lt;= hi, ascending (or descending).</summary>
    public IEnumerable<(T Value, int Offset)> Between(T lo, T hi, bool descending = false)
    {
        if (lo.CompareTo(hi) > 0 || _set.Count == 0)
            return [];
        var view = _set.GetViewBetween((lo, int.MinValue), (hi, int.MaxValue));
        return descending ? view.Reverse() : view;
    }
}
