using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Quiver.Kernels;

namespace Quiver.Index.Internal;

/// <summary>
/// Scores nodes by rows stored in a compact datatype (float16, uint8), widened as the kernel reads them;
/// <typeparamref name="TRows"/> maps nodes to rows (the row table is read only by <see cref="MappedRows"/>).
/// </summary>
internal ref struct CompactScorer<TKernel, TElement, TRows> : INodeScorer
    where TKernel : struct, IRowScoreKernel<TElement>
    where TElement : unmanaged
    where TRows : struct, IRowMapping
{
    private readonly ReadOnlySpan<float> _query;
    private readonly ref TElement _rows;
    private readonly ref int _map;

    public CompactScorer(ReadOnlySpan<float> query, ref TElement rows, ref int map)
    {
        _query = query;
        _rows = ref rows;
        _map = ref map;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly ReadOnlySpan<TElement> Row(int node) =>
        MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref _rows, (nint)TRows.RowId(ref _map, node) * _query.Length), _query.Length);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly float Score(int node) => TKernel.Score(_query, Row(node));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly float ScoreAtLeast(int node, float floor) => Score(node);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Prefetch(int node) =>
        RowPrefetch.Lines(ref Unsafe.As<TElement, byte>(ref Unsafe.Add(ref _rows, (nint)TRows.RowId(ref _map, node) * _query.Length)), _query.Length * Unsafe.SizeOf<TElement>());

    public readonly int RowBytes => _query.Length * Unsafe.SizeOf<TElement>();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly int RowId(int node) => TRows.RowId(ref _map, node);
}
