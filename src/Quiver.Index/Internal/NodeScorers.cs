using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
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

    /// <summary>Bytes <see cref="Score"/> reads per node: what sizes the walk's prefetch window (<see cref="RowPrefetch.Window"/>).</summary>
    int RowBytes { get; }

    /// <summary>The row (in the caller's numbering) of <paramref name="node"/>: what filters and results see.</summary>
    int RowId(int node);
}

/// <summary>Scores nodes by their float rows with a score kernel; <typeparamref name="TRows"/> maps nodes to rows.</summary>
internal ref struct FloatScorer<TKernel, TRows> : INodeScorer
    where TKernel : struct, IScoreKernel
    where TRows : struct, IRowMapping
{
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
    public readonly void Prefetch(int node) =>
        RowPrefetch.Lines(ref Unsafe.As<float, byte>(ref MemoryMarshal.GetReference(TRows.Row(ref _vectors, ref _map, node, _query.Length))), _query.Length * sizeof(float));

    public readonly int RowBytes => _query.Length * sizeof(float);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly int RowId(int node) => TRows.RowId(ref _map, node);
}

/// <summary>
/// Scores nodes by scalar codes for the dot product: the query's codes less 128 as int8 (padded with zeros and laid
/// out by <see cref="CodeDotKernel.AlignTail"/>, so a row of 32 codes or more is read only up to its last code), against each row's
/// uint8 codes with <see cref="CodeDotKernel.DotTailAligned(ref byte, ref sbyte, int, int)"/>, mapped back to the float scale as
/// <c>offset + rowScale·Σc + scale·raw</c> (see <see cref="Quantization.QuantizedVectors.ScoreTransform{TKernel}"/>).
/// </summary>
internal ref struct DotCodeScorer<TRows> : INodeScorer
    where TRows : struct, IRowMapping
{
    private readonly ReadOnlySpan<sbyte> _query;
    private readonly ref byte _rows;
    private readonly ref int _map;
    private readonly int _stride;
    private readonly int _prefetchBytes;
    private readonly int _paddedLength;
    private readonly int _tailStart;
    private readonly float _offset;
    private readonly float _rowScale;
    private readonly float _scale;

    public DotCodeScorer(ReadOnlySpan<sbyte> alignedQuery, int dimension, ref byte rows, int stride, ref int map, float offset, float rowScale, float scale)
    {
        _query = alignedQuery;
        _prefetchBytes = Quantization.QuantizedVectors.CodeOffset + Math.Max(dimension, CodeDotKernel.Block);
        _paddedLength = CodeDotKernel.PaddedLength(dimension);
        _tailStart = CodeDotKernel.TailStart(dimension);
        _rows = ref rows;
        _stride = stride;
        _map = ref map;
        _offset = offset;
        _rowScale = rowScale;
        _scale = scale;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly float Score(int node)
    {
        ref var row = ref Unsafe.Add(ref _rows, (nint)TRows.RowId(ref _map, node) * _stride);
        var raw = CodeDotKernel.DotTailAligned(ref Unsafe.Add(ref row, Quantization.QuantizedVectors.CodeOffset), ref MemoryMarshal.GetReference(_query), _paddedLength, _tailStart);
        return _offset + (_rowScale * Unsafe.ReadUnaligned<int>(ref row)) + (_scale * raw);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly float ScoreAtLeast(int node, float floor) => Score(node);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Prefetch(int node) =>
        RowPrefetch.Lines(ref Unsafe.Add(ref _rows, (nint)TRows.RowId(ref _map, node) * _stride), _prefetchBytes);

    public readonly int RowBytes => _stride;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly int RowId(int node) => TRows.RowId(ref _map, node);
}

/// <summary>
/// Scores nodes by scalar codes with a uint8 distance kernel (squared Euclid, Manhattan) against the query's codes:
/// <c>scale · kernel(query, codes)</c>.
/// </summary>
internal ref struct CodeScorer<TKernel, TRows> : INodeScorer
    where TKernel : struct, IByteScoreKernel
    where TRows : struct, IRowMapping
{
    private readonly ReadOnlySpan<byte> _query;
    private readonly ref byte _rows;
    private readonly ref int _map;
    private readonly int _stride;
    private readonly float _scale;

    public CodeScorer(ReadOnlySpan<byte> query, ref byte rows, int stride, ref int map, float scale)
    {
        _query = query;
        _rows = ref rows;
        _stride = stride;
        _map = ref map;
        _scale = scale;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly float Score(int node)
    {
        ref var row = ref Unsafe.Add(ref _rows, ((nint)TRows.RowId(ref _map, node) * _stride) + Quantization.QuantizedVectors.CodeOffset);
        return _scale * TKernel.Score(_query, MemoryMarshal.CreateReadOnlySpan(ref row, _query.Length));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly float ScoreAtLeast(int node, float floor) => Score(node);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Prefetch(int node) =>
        RowPrefetch.Lines(ref Unsafe.Add(ref _rows, (nint)TRows.RowId(ref _map, node) * _stride), _stride);

    public readonly int RowBytes => _stride;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly int RowId(int node) => TRows.RowId(ref _map, node);
}

/// <summary>
/// Scores nodes by binary codes against the query's code: <c>1 - scale · hamming</c> (scale = 2 / bits), a
/// similarity from -1 to 1.
/// </summary>
internal ref struct HammingScorer<TRows> : INodeScorer
    where TRows : struct, IRowMapping
{
    private readonly ReadOnlySpan<ulong> _query;
    private readonly ref ulong _rows;
    private readonly ref int _map;
    private readonly float _scale;

    public HammingScorer(ReadOnlySpan<ulong> query, ref ulong rows, ref int map, float scale)
    {
        _query = query;
        _rows = ref rows;
        _map = ref map;
        _scale = scale;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly float Score(int node)
    {
        var words = _query.Length;
        ref var row = ref Unsafe.Add(ref _rows, (nint)TRows.RowId(ref _map, node) * words);
        ref var q = ref MemoryMarshal.GetReference(_query);
        var bits = 0;
        for (var i = 0; i < words; i++)
            bits += System.Numerics.BitOperations.PopCount(Unsafe.Add(ref row, i) ^ Unsafe.Add(ref q, i));
        return 1f - (_scale * bits);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly float ScoreAtLeast(int node, float floor) => Score(node);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Prefetch(int node) =>
        RowPrefetch.Lines(ref Unsafe.As<ulong, byte>(ref Unsafe.Add(ref _rows, (nint)TRows.RowId(ref _map, node) * _query.Length)), _query.Length * sizeof(ulong));

    public readonly int RowBytes => _query.Length * sizeof(ulong);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly int RowId(int node) => TRows.RowId(ref _map, node);
}

/// <summary>
/// Scores nodes by binary codes asymmetrically: the float query's dot product with the components a code stands
/// for, <c>constant + Σ weight[bit] over set bits</c>, summed four bits at a time from a per-query table of the 16
/// sums of each group of four weights.
/// </summary>
internal ref struct BinaryTableScorer<TRows> : INodeScorer
    where TRows : struct, IRowMapping
{
    private readonly ReadOnlySpan<float> _table;
    private readonly ref ulong _rows;
    private readonly ref int _map;
    private readonly int _words;
    private readonly float _constant;

    public BinaryTableScorer(ReadOnlySpan<float> table, ref ulong rows, int words, ref int map, float constant)
    {
        _table = table;
        _rows = ref rows;
        _words = words;
        _map = ref map;
        _constant = constant;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly float Score(int node)
    {
        ref var row = ref Unsafe.Add(ref _rows, (nint)TRows.RowId(ref _map, node) * _words);
        ref var table = ref MemoryMarshal.GetReference(_table);
        // Four independent sums, so the adds do not wait on each other.
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (var w = 0; w < _words; w++)
        {
            var word = Unsafe.Add(ref row, w);
            ref var group = ref Unsafe.Add(ref table, w * 256);
            for (var nibble = 0; nibble < 16; nibble += 4)
            {
                s0 += Unsafe.Add(ref group, (nibble * 16) + (int)((word >> (nibble * 4)) & 0xF));
                s1 += Unsafe.Add(ref group, ((nibble + 1) * 16) + (int)((word >> ((nibble + 1) * 4)) & 0xF));
                s2 += Unsafe.Add(ref group, ((nibble + 2) * 16) + (int)((word >> ((nibble + 2) * 4)) & 0xF));
                s3 += Unsafe.Add(ref group, ((nibble + 3) * 16) + (int)((word >> ((nibble + 3) * 4)) & 0xF));
            }
        }

        return _constant + ((s0 + s1) + (s2 + s3));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly float ScoreAtLeast(int node, float floor) => Score(node);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Prefetch(int node) =>
        RowPrefetch.Lines(ref Unsafe.As<ulong, byte>(ref Unsafe.Add(ref _rows, (nint)TRows.RowId(ref _map, node) * _words)), _words * sizeof(ulong));

    public readonly int RowBytes => _words * sizeof(ulong);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly int RowId(int node) => TRows.RowId(ref _map, node);
}

/// <summary>
/// Scores nodes by product-quantization codes: the sum, over subspaces, of the per-query table's entry for the
/// row's centroid there (256 entries a subspace).
/// </summary>
internal ref struct ProductTableScorer<TRows> : INodeScorer
    where TRows : struct, IRowMapping
{
    private readonly ReadOnlySpan<float> _table;
    private readonly ref byte _codes;
    private readonly ref int _map;
    private readonly int _subspaces;

    public ProductTableScorer(ReadOnlySpan<float> table, ref byte codes, int subspaces, ref int map)
    {
        _table = table;
        _codes = ref codes;
        _subspaces = subspaces;
        _map = ref map;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly float Score(int node)
    {
        ref var code = ref Unsafe.Add(ref _codes, (nint)TRows.RowId(ref _map, node) * _subspaces);
        ref var table = ref MemoryMarshal.GetReference(_table);
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        var s = 0;
        for (; s + 4 <= _subspaces; s += 4)
        {
            s0 += Unsafe.Add(ref table, (s * 256) + Unsafe.Add(ref code, s));
            s1 += Unsafe.Add(ref table, ((s + 1) * 256) + Unsafe.Add(ref code, s + 1));
            s2 += Unsafe.Add(ref table, ((s + 2) * 256) + Unsafe.Add(ref code, s + 2));
            s3 += Unsafe.Add(ref table, ((s + 3) * 256) + Unsafe.Add(ref code, s + 3));
        }

        for (; s < _subspaces; s++)
            s0 += Unsafe.Add(ref table, (s * 256) + Unsafe.Add(ref code, s));
        return (s0 + s1) + (s2 + s3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly float ScoreAtLeast(int node, float floor) => Score(node);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Prefetch(int node) =>
        RowPrefetch.Lines(ref Unsafe.Add(ref _codes, (nint)TRows.RowId(ref _map, node) * _subspaces), _subspaces);

    public readonly int RowBytes => _subspaces;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly int RowId(int node) => TRows.RowId(ref _map, node);
}

