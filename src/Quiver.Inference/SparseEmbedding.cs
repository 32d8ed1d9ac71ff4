namespace Quiver.Inference;

/// <summary>
/// A sparse vector as Qdrant stores it: <paramref name="Indices"/> ascending and unique, each with the value at
/// the same position in <paramref name="Values"/>.
/// </summary>
public readonly record struct SparseEmbedding(uint[] Indices, float[] Values)
{
    /// <summary>The vector with no entries, what an input without tokens encodes to.</summary>
    public static SparseEmbedding Empty { get; } = new([], []);

    /// <summary>The number of non-zero entries.</summary>
    public int Count => Indices?.Length ?? 0;
}
