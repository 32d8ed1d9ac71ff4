namespace Quiver.Segment.Points;

/// <summary>
/// A multivector (several dense vectors of one size for one point, e.g. ColBERT token embeddings), stored row-major
/// in one array. Immutable once built, so segments and readers share it.
/// </summary>
public sealed class MultiVector
{
    private MultiVector(float[] values, int dimension)
    {
        Values = values;
        Dimension = dimension;
    }

    /// <summary>The rows, one after another.</summary>
    public float[] Values { get; }

    public int Dimension { get; }

    public int Count => Values.Length / Dimension;

    public long Bytes => (long)Values.Length * sizeof(float);

    public ReadOnlySpan<float> Row(int i) => Values.AsSpan(i * Dimension, Dimension);

    /// <summary>Builds a multivector from its rows (at least one, all of one length; the arrays are copied).</summary>
    public static MultiVector Create(IReadOnlyList<float[]> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0 || rows[0].Length == 0)
            throw new ArgumentException("a multivector needs at least one non-empty vector");
        var dimension = rows[0].Length;
        var values = new float[rows.Count * dimension];
        for (var i = 0; i < rows.Count; i++)
        {
            if (rows[i].Length != dimension)
                throw new ArgumentException($"every vector of a multivector has one size: vector {i} has {rows[i].Length}, vector 0 has {dimension}");
            rows[i].CopyTo(values, i * dimension);
        }

        return new MultiVector(values, dimension);
    }

    /// <summary>Wraps row-major values (taken over, not copied); their length must be a multiple of the dimension.</summary>
    public static MultiVector FromFlat(float[] values, int dimension)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (dimension < 1 || values.Length == 0 || values.Length % dimension != 0)
            throw new ArgumentException($"{values.Length} values do not make rows of {dimension}");
        return new MultiVector(values, dimension);
    }
}
