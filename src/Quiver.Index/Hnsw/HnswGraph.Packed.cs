using System.Runtime.CompilerServices;

namespace Quiver.Index.Hnsw;

/// <summary>
/// A built graph's level 0, packed: each node's list holds only the links it has (glove's average 24 of 32 slots),
/// as 3-byte ids, found through an offset per node. Level 0 is nearly all of a graph's memory: 132 bytes a node at
/// M = 16 in the fixed layout, about 77 packed. Upper levels keep their fixed layout (a few percent of nodes).
/// Only immutable graphs of fewer than 2^24 nodes are packed; appendable and mapped graphs keep the fixed layout.
/// </summary>
public sealed unsafe partial class HnswGraph
{
    /// <summary>Node ids below this fit in three bytes.</summary>
    internal const int PackedNodeLimit = 1 << 24;

    /// <summary>Of a packed graph: node i's ids are bytes [3 * offsets[i], 3 * offsets[i + 1]) of <see cref="_packedLinks"/>.</summary>
    private readonly uint* _packedOffsets;

    /// <summary>Of a packed graph: the level-0 ids, three bytes each, and one spare byte (ids are read four bytes at a time).</summary>
    private readonly byte* _packedLinks;

    /// <summary>True when level 0 is packed (see the remarks on this file).</summary>
    public bool IsPacked => _packedLinks != null;

    /// <summary>
    /// This graph with its level 0 packed, or this graph itself when it cannot be (appendable, mapped, already
    /// packed, or 2^24 nodes or more). The original is left as it was; it may be dropped.
    /// </summary>
    public HnswGraph Packed()
    {
        var count = _count;
        if (_appendLocks is not null || IsMapped || IsPacked || count >= PackedNodeLimit)
            return this;
        long links = 0;
        for (var node = 0; node < count; node++)
            links += LinkHead(node, 0);
        // One block: offsets, the id bytes (with a spare byte, rounded to ints), then the upper levels.
        var offsetInts = (long)count + 1;
        var linkInts = ((3 * links) + 1 + 3) / 4;
        var storage = new Internal.HugePageLinks(offsetInts + linkInts + _upperLength, uninitialized: false);
        var offsets = (uint*)storage.Pointer;
        var bytes = (byte*)(storage.Pointer + offsetInts);
        uint next = 0;
        for (var node = 0; node < count; node++)
        {
            offsets[node] = next;
            ref var head = ref LinkHead(node, 0);
            for (var j = 1; j <= head; j++)
            {
                var id = (uint)Unsafe.Add(ref head, j);
                var p = bytes + (3L * next++);
                p[0] = (byte)id;
                p[1] = (byte)(id >> 8);
                p[2] = (byte)(id >> 16);
            }
        }

        offsets[count] = next;
        var upper = storage.Pointer + offsetInts + linkInts;
        Upper.CopyTo(new Span<int>(upper, _upperLength));
        return new HnswGraph(count, _dim, _m, _levels, storage, level0: null, upper, offsets, bytes)
        {
            _entry = Volatile.Read(ref _entry),
        };
    }

    /// <summary>Bytes of the packed level 0 (offsets and ids), or 0.</summary>
    private long PackedBytes => IsPacked ? (((long)_count + 1) * sizeof(uint)) + (3L * _packedOffsets[_count]) + 1 : 0;

    /// <summary>Node <paramref name="node"/>'s level-0 link count in a packed graph.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int PackedCount(int node) => (int)(_packedOffsets[node + 1] - _packedOffsets[node]);

    /// <summary>The first id byte of node <paramref name="node"/>'s level-0 list in a packed graph.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private byte* PackedList(int node) => _packedLinks + (3L * _packedOffsets[node]);

    /// <summary>The <paramref name="j"/>-th id (from 0) of a packed list.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int PackedId(byte* list, int j) => (int)(Unsafe.ReadUnaligned<uint>(list + (3 * j)) & 0xFFFFFF);

    /// <summary>
    /// Writes the packed lists of nodes [<paramref name="first"/>, <paramref name="first"/> + <paramref name="nodes"/>)
    /// into <paramref name="blocks"/> in the fixed layout (count, ids, zero slots; <c>1 + 2M</c> ints a node).
    /// </summary>
    private void UnpackLevel0(int first, int nodes, Span<int> blocks)
    {
        blocks[..(nodes * _stride0)].Clear();
        for (var i = 0; i < nodes; i++)
        {
            var block = blocks.Slice(i * _stride0, _stride0);
            block[0] = CopyPacked(first + i, block[1..]);
        }
    }

    /// <summary>Copies node <paramref name="node"/>'s level-0 ids of a packed graph into <paramref name="ids"/>; returns how many.</summary>
    private int CopyPacked(int node, Span<int> ids)
    {
        var list = PackedList(node);
        var n = PackedCount(node);
        for (var j = 0; j < n; j++)
            ids[j] = PackedId(list, j);
        return n;
    }
}
