using System.Runtime.InteropServices;

namespace Quiver.Segment.Points;

/// <summary>
/// A sparse vector: the dimensions it has, ascending and unique, and their values. Immutable once built, so
/// segments, snapshots and readers share one instance without copying.
/// </summary>
public sealed class SparseVector
{
    private SparseVector(uint[] indices, float[] values)
    {
        Indices = indices;
        Values = values;
    }

    /// <summary>An empty vector (shares no dimension with any other: scores 0 against everything).</summary>
    public static SparseVector Empty { get; } = new([], []);

    public uint[] Indices { get; }

    public float[] Values { get; }

    public int Count => Indices.Length;

    /// <summary>
    /// Builds a vector from parallel arrays as a request gives them (any order); the arrays are taken over, not
    /// copied. Throws <see cref="ArgumentException"/> naming what is wrong: lengths that differ, a repeated index,
    /// a value that is not finite.
    /// </summary>
    public static SparseVector Create(uint[] indices, float[] values)
    {
        ArgumentNullException.ThrowIfNull(indices);
        ArgumentNullException.ThrowIfNull(values);
        if (indices.Length != values.Length)
            throw new ArgumentException($"indices and values must have the same length ({indices.Length} and {values.Length})");
        for (var i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
                throw new ArgumentException($"values[{i}] is not a finite number");
        }

        if (!IsAscending(indices))
            Array.Sort(indices, values);
        for (var i = 1; i < indices.Length; i++)
        {
            if (indices[i] == indices[i - 1])
                throw new ArgumentException($"indices must be unique: {indices[i]} appears more than once");
        }

        return indices.Length == 0 ? Empty : new SparseVector(indices, values);
    }

    /// <summary>The dot product over the dimensions both vectors have (a merge of the two sorted index lists).</summary>
    public float Dot(SparseVector other)
    {
        ArgumentNullException.ThrowIfNull(other);
        var a = Indices;
        var b = other.Indices;
        var sum = 0f;
        int i = 0, j = 0;
        while (i < a.Length && j < b.Length)
        {
            if (a[i] == b[j])
                sum += Values[i++] * other.Values[j++];
            else if (a[i] < b[j])
                i++;
            else
                j++;
        }

        return sum;
    }

    /// <summary>Whether the two vectors share at least one dimension (a search returns only such points).</summary>
    public bool Overlaps(SparseVector other)
    {
        ArgumentNullException.ThrowIfNull(other);
        int i = 0, j = 0;
        while (i < Indices.Length && j < other.Indices.Length)
        {
            if (Indices[i] == other.Indices[j])
                return true;
            if (Indices[i] < other.Indices[j])
                i++;
            else
                j++;
        }

        return false;
    }

    /// <summary>A copy with each value multiplied by its dimension's weight (IDF), weights parallel to <see cref="Indices"/>.</summary>
    public SparseVector Weighted(ReadOnlySpan<float> weights)
    {
        if (weights.Length != Values.Length)
            throw new ArgumentException("one weight per dimension", nameof(weights));
        var values = new float[Values.Length];
        for (var i = 0; i < values.Length; i++)
            values[i] = Values[i] * weights[i];
        return new SparseVector(Indices, values);
    }

    /// <summary>Bytes this vector holds (for memory reports).</summary>
    public long Bytes => (long)Indices.Length * (sizeof(uint) + sizeof(float));

    public bool ContentEquals(SparseVector other) =>
        other is not null && Indices.AsSpan().SequenceEqual(other.Indices)
        && MemoryMarshal.AsBytes(Values.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(other.Values.AsSpan()));

    private static bool IsAscending(uint[] indices)
    {
        for (var i = 1; i < indices.Length; i++)
        {
            if (indices[i] <= indices[i - 1])
                return false;
        }

        return true;
    }
}
