namespace Quiver.Index.Hnsw;

/// <summary>
/// The rows a graph over part of a vector buffer is built on: node i is row <c>Rows[i]</c>. Checked once
/// here (ascending, distinct, non-negative), so a search needs only the last row against the buffer's length.
/// </summary>
public sealed class RowSubset
{
    /// <exception cref="ArgumentException">Rows not ascending, repeated, or negative.</exception>
    public RowSubset(int[] rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        for (var i = 0; i < rows.Length; i++)
        {
            if (rows[i] < 0 || (i > 0 && rows[i] <= rows[i - 1]))
                throw new ArgumentException($"Rows must ascend from 0 up; entry {i} is {rows[i]}.", nameof(rows));
        }

        Rows = rows;
    }

    /// <summary>The rows, ascending. Not to be changed.</summary>
    public int[] Rows { get; }

    public int Count => Rows.Length;

    /// <summary>The highest row, or -1 when empty.</summary>
    public int Last => Rows.Length == 0 ? -1 : Rows[^1];
}
