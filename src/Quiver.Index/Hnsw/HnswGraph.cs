using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Quiver.Index.Hnsw;

/// <summary>
/// Hierarchical navigable small world graph (Malkov and Yashunin) over vectors that the caller owns: the graph
/// stores only links. Rows are identified by their index in the row-major vector buffer.
/// </summary>
/// <remarks>
/// <para>Layout. While a graph is built or appended to (and when mapped from its file), level 0 is one flat
/// <see cref="int"/> array with a fixed stride of <c>1 + 2M</c> per node: the link count, then up to <c>2M</c>
/// neighbour ids. A built graph held in memory packs it (see <c>HnswGraph.Packed.cs</c>). Nodes on higher levels own <c>level</c> consecutive blocks of
/// <c>1 + M</c> ints (count, then up to M ids) in a second flat array; a node's first block starts at
/// <c>_upperOffsets[node]</c>, and the offsets are a prefix sum of the levels, so they are not serialised.</para>
/// <para>Threading. A built graph is immutable: any number of threads may search it at once, each using its own
/// pooled scratch. Building is the only writer (see <c>HnswGraph.Build.cs</c>). A graph made by
/// <see cref="CreateAppendable(int, int, int, ulong)"/> has room for a fixed number of nodes and is extended by one writer at a time
/// (<see cref="Extend{TKernel}"/>) while searches run; the entry point and top level are published together as one
/// 64-bit value, so a search never pairs a new top level with an old entry node.</para>
/// </remarks>
public sealed unsafe partial class HnswGraph
{
    /// <summary>Levels are capped here; with M = 2 (the smallest) reaching it needs ~2^31 nodes.</summary>
    internal const int MaxLevelCap = 31;

    private int _count;
    private readonly int _dim;
    private readonly int _m;
    private readonly int _stride0;
    private readonly int _strideUpper;
    // The link lists, by pointer: pinned arrays of an in-memory graph, or a memory-mapped file's pages.
    private readonly int* _level0;
    private readonly int* _upper;
    private readonly int _level0Length;
    private readonly int _upperLength;

    /// <summary>Keeps the pinned arrays, or the mapping, alive as long as the graph.</summary>
    private readonly object _linkStorage;
    private readonly int[] _upperOffsets;
    private readonly byte[] _levels;

    /// <summary>Entry node in the low 32 bits, top level in the high 32 (both -1 when empty); see <see cref="PackEntry"/>.</summary>
    private long _entry = PackEntry(-1, -1);

    /// <summary>Per-node spin locks of an appendable graph, shared by every extension; null for a built graph.</summary>
    private int[]? _appendLocks;

    private HnswGraph(int count, int dim, int m, byte[] levels, bool uninitialized = false)
        : this(count, dim, m, levels, AllocateLinks(count, m, levels, uninitialized))
    {
    }

    private HnswGraph(int count, int dim, int m, byte[] levels, (object Storage, nint Level0, nint Upper) links)
        : this(count, dim, m, levels, links.Storage, (int*)links.Level0, (int*)links.Upper)
    {
    }

    /// <summary>
    /// A graph whose link lists are at <paramref name="level0"/> and <paramref name="upper"/>, kept alive by
    /// <paramref name="storage"/>; or, with <paramref name="level0"/> null, whose level 0 is packed at
    /// <paramref name="packedOffsets"/> and <paramref name="packedLinks"/> (see <c>HnswGraph.Packed.cs</c>).
    /// </summary>
    private HnswGraph(int count, int dim, int m, byte[] levels, object storage, int* level0, int* upper, uint* packedOffsets = null, byte* packedLinks = null)
    {
        _count = count;
        _dim = dim;
        _m = m;
        _stride0 = 1 + (2 * m);
        _strideUpper = 1 + m;
        _levels = levels;
        (_upperOffsets, var upperLength) = UpperOffsets(levels, _strideUpper);
        _packedOffsets = packedOffsets;
        _packedLinks = packedLinks;
        _level0Length = level0 is null ? 0 : checked(count * _stride0);
        _upperLength = checked((int)upperLength);
        _level0 = level0;
        _upper = upper;
        _linkStorage = storage;
    }

    /// <summary>
    /// Pinned link arrays for an in-memory graph, so its lists are reached by pointer like a mapped graph's. An
    /// appendable graph's are left uninitialised and cleared as nodes are linked, so the pages of rows not written
    /// yet stay untouched (not resident) until then.
    /// </summary>
    private static (object Storage, nint Level0, nint Upper) AllocateLinks(int count, int m, byte[] levels, bool uninitialized)
    {
        var level0Length = checked(count * (1 + (2 * m)));
        var upperLength = checked((int)UpperOffsets(levels, 1 + m).Length);
        // One block: level 0, then the upper levels.
        var links = new Internal.HugePageLinks((long)level0Length + upperLength, uninitialized);
        return (links, (nint)links.Pointer, (nint)(links.Pointer + level0Length));
    }

    /// <summary>Each node's first upper-level slot (a prefix sum of the levels), and the slots in all.</summary>
    private static (int[] Offsets, long Length) UpperOffsets(byte[] levels, int strideUpper)
    {
        var offsets = new int[levels.Length];
        long length = 0;
        for (var i = 0; i < levels.Length; i++)
        {
            offsets[i] = (int)length;
            length += (long)levels[i] * strideUpper;
        }

        return (offsets, length);
    }

    /// <summary>Level-0 lists: a fixed stride of <c>1 + 2M</c> ints per node.</summary>
    private Span<int> Level0 => new(_level0, _level0Length);

    /// <summary>Upper-level lists, node by node.</summary>
    private Span<int> Upper => new(_upper, _upperLength);

    /// <summary>True when the link lists are read from a memory-mapped file rather than held in memory.</summary>
    public bool IsMapped => _linkStorage is Mapping.MappedFileRegion;

    /// <summary>
    /// Number of nodes (rows). For an appendable graph: the nodes linked so far, always a prefix of the rows;
    /// a concurrent <see cref="Extend{TKernel}"/> raises it when its batch is complete.
    /// </summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Nodes the graph has room for (equal to <see cref="Count"/> for a built graph).</summary>
    public int Capacity => _levels.Length;

    /// <summary>Dimension of the vectors the graph was built over.</summary>
    public int Dimension => _dim;

    /// <summary>Links per node on upper levels (level 0 keeps twice as many).</summary>
    public int M => _m;

    /// <summary>The node every search starts from, or -1 for an empty graph.</summary>
    public int EntryPoint => (int)Volatile.Read(ref _entry);

    /// <summary>Highest level present, or -1 for an empty graph.</summary>
    public int MaxLevel => (int)(Volatile.Read(ref _entry) >> 32);

    private static long PackEntry(int node, int level) => ((long)level << 32) | (uint)node;

    /// <summary>Bytes held by the graph's arrays in memory (links unless mapped, offsets and levels; not the vectors).</summary>
    /// <remarks>Of an appendable graph, the lists of the linked nodes: the rest is reserved but not touched yet.</remarks>
    public long MemoryBytes => _appendLocks is null
        ? (IsMapped ? 0 : ((long)_level0Length * sizeof(int)) + ((long)_upperLength * sizeof(int)) + PackedBytes) + ((long)_upperOffsets.Length * sizeof(int)) + _levels.Length
        : ((long)Count * _stride0 * sizeof(int)) + ((long)UpperSlotsBefore(Count) * sizeof(int)) + ((long)_levels.Length * (sizeof(int) + sizeof(int) + 1));

    /// <summary>Upper-level slots used by nodes below <paramref name="node"/>.</summary>
    private int UpperSlotsBefore(int node) => node >= _upperOffsets.Length ? _upperLength : _upperOffsets[node];

    /// <summary>The level of <paramref name="node"/> (0 = bottom only).</summary>
    internal int LevelOf(int node) => _levels[node];

    /// <summary>
    /// The neighbours of <paramref name="node"/> at <paramref name="level"/>: a copy-free view, except of a packed
    /// level 0, whose ids are decoded into a new array (not for hot paths).
    /// </summary>
    internal ReadOnlySpan<int> Neighbors(int node, int level)
    {
        if (level == 0 && IsPacked)
        {
            var ids = new int[PackedCount(node)];
            CopyPacked(node, ids);
            return ids;
        }

        ref var head = ref LinkHead(node, level);
        return MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref head, 1), head);
    }

    /// <summary>
    /// Reference to the count slot of a node's link list at a level; the ids follow it. No bounds checks:
    /// callers pass a valid node and a level in <c>0..LevelOf(node)</c>, and level 0 only of a graph not packed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref int LinkHead(int node, int level)
    {
        System.Diagnostics.Debug.Assert(level != 0 || _level0 != null, "level 0 of a packed graph is read through PackedList");
        if (level == 0)
        {
            return ref Unsafe.AsRef<int>(_level0 + ((nint)node * _stride0));
        }

        var offset = Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_upperOffsets), node) + ((level - 1) * _strideUpper);
        return ref Unsafe.AsRef<int>(_upper + offset);
    }

    /// <summary>Capacity of a link list at <paramref name="level"/>.</summary>
    private int MaxLinks(int level) => level == 0 ? 2 * _m : _m;

    /// <summary>Row <paramref name="node"/> of the vectors, without bounds checks (callers validated the buffer).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ReadOnlySpan<float> Row(ref float vectors, int node, int dim) =>
        MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref vectors, (nint)node * dim), dim);
}
