using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Quiver.Index.Internal;

/// <summary>
/// How a graph walk reaches the vector of a node: the graph's node ids index the rows directly, or through a
/// table (a graph over a subset of a segment's rows). Static members on a struct type argument, like the score
/// kernels: the walk is compiled once per mapping with the lookup inlined, and the dense walk is unchanged.
/// </summary>
internal interface IRowMapping
{
    /// <summary>The vector of <paramref name="node"/>, without bounds checks (callers validated the buffers).</summary>
    static abstract ReadOnlySpan<float> Row(ref float vectors, ref int rowOfNode, int node, int dim);

    /// <summary>The row (in the caller's numbering) of <paramref name="node"/>: what filters and results see.</summary>
    static abstract int RowId(ref int rowOfNode, int node);
}

/// <summary>Node i is row i (the table is not read).</summary>
internal readonly struct DenseRows : IRowMapping
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ReadOnlySpan<float> Row(ref float vectors, ref int rowOfNode, int node, int dim) =>
        MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref vectors, (nint)node * dim), dim);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int RowId(ref int rowOfNode, int node) => node;
}

/// <summary>Node i is row <c>rowOfNode[i]</c>.</summary>
internal readonly struct MappedRows : IRowMapping
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ReadOnlySpan<float> Row(ref float vectors, ref int rowOfNode, int node, int dim) =>
        MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref vectors, (nint)Unsafe.Add(ref rowOfNode, node) * dim), dim);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int RowId(ref int rowOfNode, int node) => Unsafe.Add(ref rowOfNode, node);
}
