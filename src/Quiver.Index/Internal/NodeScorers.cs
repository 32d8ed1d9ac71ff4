using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using Quiver.Kernels;

namespace Quiver.Index.Internal;

/// <summary>
/// How a graph walk scores a node against its query: full float rows, or scalar codes. The walk is generic over a
/// struct implementing this, so each kind is compiled into its own walk with the scoring inlined (no delegate or
/// virtual call per node), as the score kernels are.
/// </summary>
internal interface INodeScorer
{
    /// <summary>The score of <paramref name="node"/> (higher is closer).</summary>
    float Score(int node);

    /// <summary>As <see cref="Score"/> when it is at least <paramref name="floor"/>; otherwise any value below it.</summary>
    float ScoreAtLeast(int node, float floor);

    /// <summary>Starts loading what <see cref="Score"/> will read for <paramref name="node"/>.</summary>
    void Prefetch(int node);

    /// <summary>The row (in the caller's numbering) of <paramref name="node"/>: what filters and results see.</summary>
    int RowId(int node);
}

/// <summary>Scores nodes by their float rows with a score kernel; <typeparamref name="TRows"/> maps nodes to rows.</summary>
internal ref struct FloatScorer<TKernel, TRows> : INodeScorer
    where TKernel : struct, IScoreKernel
    where TRows : struct, IRowMapping
{
    /// <summary>Cache lines of a row prefetched before it is scored; the hardware streams the rest of longer rows.</summary>
    private const int PrefetchRowLines = 8;

    private readonly ReadOnlySpan<float> _query;
    private readonly ref float _vectors;
    private readonly ref int _map;

    public FloatScorer(ReadOnlySpan<float> query, ref float vectors, ref int map)
    {
        _query = query;
        _vectors = ref vectors;
        _map = ref map;
    }

    public readonly ReadOnlySpan<float> Query => _query;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly float Score(int node) => TKernel.Score(_query, TRows.Row(ref _vectors, ref _map, node, _query.Length));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly float ScoreAtLeast(int node, float floor) =>
        TKernel.ScoreAtLeast(_query, TRows.Row(ref _vectors, ref _map, node, _query.Length), floor);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly unsafe void Prefetch(int node)
    {
        if (!Sse.IsSupported)
            return;
        // A prefetch is only a hint and never faults, so a stale address (if the GC moved the buffer) is harmless.
        var row = TRows.Row(ref _vectors, ref _map, node, _query.Length);
        var p = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(row));
        var end = p + ((nint)Math.Min(row.Length, PrefetchRowLines * 16) * sizeof(float));
        for (; p < end; p += 64)
            Sse.Prefetch0(p);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly int RowId(int node) => TRows.RowId(ref _map, node);
}

/// <summary>
/// Scores nodes by scalar codes against an encoded query with a uint8 kernel, mapped back to the float scale:
/// <c>offset + rowTerm[row] + scale · kernel(query, code[row])</c>. Row terms are read only for the dot product
/// (the sum of a row's codes enters the decoded dot product; Euclid and Manhattan need none).
/// </summary>
internal ref struct CodeScorer<TKernel, TRows> : INodeScorer
    where TKernel : struct, IByteScoreKernel
    where TRows : struct, IRowMapping
{
    private readonly ReadOnlySpan<byte> _query;
    private readonly ref byte _codes;
    private readonly ref float _rowTerms;
    private readonly ref int _map;
    private readonly float _offset;
    private readonly float _scale;

    public CodeScorer(ReadOnlySpan<byte> query, ref byte codes, ref float rowTerms, ref int map, float offset, float scale)
    {
        _query = query;
        _codes = ref codes;
        _rowTerms = ref rowTerms;
        _map = ref map;
        _offset = offset;
        _scale = scale;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly float Score(int node)
    {
        var row = TRows.RowId(ref _map, node);
        var raw = TKernel.Score(_query, MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref _codes, (nint)row * _query.Length), _query.Length));
        return typeof(TKernel) == typeof(ByteDotKernel)
            ? _offset + Unsafe.Add(ref _rowTerms, row) + (_scale * raw)
            : _scale * raw;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly float ScoreAtLeast(int node, float floor) => Score(node);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly unsafe void Prefetch(int node)
    {
        if (!Sse.IsSupported)
            return;
        var row = TRows.RowId(ref _map, node);
        var p = (byte*)Unsafe.AsPointer(ref Unsafe.Add(ref _codes, (nint)row * _query.Length));
        var end = p + Math.Min(_query.Length, 8 * 64);
        for (; p < end; p += 64)
            Sse.Prefetch0(p);
        // A row that starts late in a line spills into one more.
        Sse.Prefetch0(end - 1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly int RowId(int node) => TRows.RowId(ref _map, node);
}
