using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Quiver.Index.Hnsw;

/// <summary>
/// Binary format, version 1 (all integers little-endian):
/// <code>
/// bytes  0..3   magic "QHNS"
/// bytes  4..7   uint32 version = 1
/// bytes  8..11  int32 count        (nodes)
/// bytes 12..15  int32 dim          (vector dimension the graph was built for)
/// bytes 16..19  int32 M            (2..512)
/// bytes 20..23  int32 entryPoint   (-1 when count = 0)
/// bytes 24..27  int32 maxLevel     (-1 when count = 0)
/// then          uint8[count]       level of each node
/// then          int32[count * (1 + 2M)]               level-0 lists: link count, then 2M id slots
/// then          int32[sum(levels) * (1 + M)]          upper lists, node by node, level 1 upwards
/// </code>
/// Unused slots are zero. Reading validates every count, id and level, so a damaged file fails with
/// <see cref="InvalidDataException"/> instead of producing a graph that reads out of bounds.
/// </summary>
public sealed partial class HnswGraph
{
    private const uint Magic = 0x534E4851; // "QHNS" read as little-endian
    private const uint FormatVersion = 1;
    private const int HeaderBytes = 28;

    /// <summary>
    /// Writes the graph in the versioned binary format described on this file. Of an appendable graph, the
    /// linked nodes are written (not while an extension runs).
    /// </summary>
    public void WriteTo(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var count = Count;
        var packed = _appendLocks is null ? Volatile.Read(ref _entry) : EntryWithin(count);
        Span<byte> header = stackalloc byte[HeaderBytes];
        BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], FormatVersion);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], count);
        BinaryPrimitives.WriteInt32LittleEndian(header[12..], _dim);
        BinaryPrimitives.WriteInt32LittleEndian(header[16..], _m);
        BinaryPrimitives.WriteInt32LittleEndian(header[20..], count == 0 ? -1 : (int)packed);
        BinaryPrimitives.WriteInt32LittleEndian(header[24..], count == 0 ? -1 : (int)(packed >> 32));
        stream.Write(header);
        stream.Write(_levels.AsSpan(0, count));
        if (_appendLocks is null)
        {
            if (IsPacked)
                WritePackedLevel0(stream);
            else
                WriteInts(stream, Level0[..(count * _stride0)]);
            WriteInts(stream, Upper[..UpperSlotsBefore(count)]);
            return;
        }

        // An extension that stopped part-way (cancelled at shutdown, or failed) may have linked nodes past Count
        // into earlier lists without publishing them: those links are left out, so the file is a valid graph.
        var list = new int[_stride0];
        for (var node = 0; node < count; node++)
            WriteLinkedList(stream, node, 0, count, list.AsSpan(0, _stride0));
        for (var node = 0; node < count; node++)
        {
            for (var level = 1; level <= _levels[node]; level++)
                WriteLinkedList(stream, node, level, count, list.AsSpan(0, _strideUpper));
        }
    }

    /// <summary>Writes a packed level 0 in the file's fixed layout (count, ids, zero slots), a batch of nodes at a time.</summary>
    private void WritePackedLevel0(Stream stream)
    {
        const int BatchNodes = 256;
        var batch = new int[BatchNodes * _stride0];
        for (var first = 0; first < _count; first += BatchNodes)
        {
            var nodes = Math.Min(BatchNodes, _count - first);
            var blocks = batch.AsSpan(0, nodes * _stride0);
            UnpackLevel0(first, nodes, blocks);
            WriteInts(stream, blocks);
        }
    }

    /// <summary>Writes one list slot block (count, then ids, zero-padded), keeping only ids below <paramref name="count"/>.</summary>
    private void WriteLinkedList(Stream stream, int node, int level, int count, Span<int> block)
    {
        block.Clear();
        var links = Neighbors(node, level);
        var kept = 0;
        foreach (var id in links)
        {
            if ((uint)id < (uint)count && kept < block.Length - 1)
                block[++kept] = id;
        }

        block[0] = kept;
        WriteInts(stream, block);
    }

    /// <summary>Reads a graph written by <see cref="WriteTo"/>.</summary>
    /// <exception cref="InvalidDataException">The data is truncated, damaged or of an unsupported version.</exception>
    public static HnswGraph ReadFrom(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        try
        {
            return Read(stream);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("HNSW graph data is truncated.", e);
        }
    }

    private static HnswGraph Read(Stream stream)
    {
        Span<byte> header = stackalloc byte[HeaderBytes];
        stream.ReadExactly(header);
        var (count, dim, m, entry, maxLevel) = ParseHeader(header);
        var levels = new byte[count];
        stream.ReadExactly(levels);
        CheckLevels(levels, m, entry, maxLevel);
        var graph = new HnswGraph(count, dim, m, levels);
        ReadInts(stream, graph.Level0);
        ReadInts(stream, graph.Upper);
        graph.Validate();
        graph._entry = PackEntry(entry, maxLevel);
        return graph;
    }

    /// <summary>Reads and range-checks the fixed header.</summary>
    private static (int Count, int Dim, int M, int Entry, int MaxLevel) ParseHeader(ReadOnlySpan<byte> header)
    {
        if (BinaryPrimitives.ReadUInt32LittleEndian(header) != Magic)
        {
            throw new InvalidDataException("Not an HNSW graph (bad magic).");
        }

        var version = BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
        if (version != FormatVersion)
        {
            throw new InvalidDataException($"Unsupported HNSW graph format version {version}; this build reads version {FormatVersion}.");
        }

        var count = BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
        var dim = BinaryPrimitives.ReadInt32LittleEndian(header[12..]);
        var m = BinaryPrimitives.ReadInt32LittleEndian(header[16..]);
        var entry = BinaryPrimitives.ReadInt32LittleEndian(header[20..]);
        var maxLevel = BinaryPrimitives.ReadInt32LittleEndian(header[24..]);
        if (count < 0 || dim < 1 || m < 2 || m > 512 || (long)count * (1 + (2 * m)) > Array.MaxLength)
        {
            throw new InvalidDataException($"Invalid HNSW header: count {count}, dim {dim}, M {m}.");
        }

        return (count, dim, m, entry, maxLevel);
    }

    /// <summary>Checks the levels against the cap, the entry point and the top level; returns the upper-level slots.</summary>
    private static long CheckLevels(ReadOnlySpan<byte> levels, int m, int entry, int maxLevel)
    {
        long upperSlots = 0;
        var highest = -1;
        foreach (var level in levels)
        {
            if (level > MaxLevelCap)
            {
                throw new InvalidDataException($"Node level {level} exceeds {MaxLevelCap}.");
            }

            upperSlots += level;
            highest = Math.Max(highest, level);
        }

        // An appendable graph may have nodes and no entry yet (none was linked), and unlinked nodes drawn above the
        // entry's level; a built graph's entry is always on its top level.
        if ((entry == -1 && maxLevel != -1) ||
            (entry != -1 && ((uint)entry >= (uint)levels.Length || maxLevel > highest || levels[entry] != maxLevel)) ||
            upperSlots * (1 + m) > Array.MaxLength)
        {
            throw new InvalidDataException($"Invalid HNSW entry point {entry} or top level {maxLevel}.");
        }

        return upperSlots * (1 + m);
    }

    /// <summary>Checks every list's count and ids.</summary>
    private void Validate()
    {
        for (var node = 0; node < _count; node++)
        {
            for (var level = 0; level <= _levels[node]; level++)
            {
                ref var head = ref LinkHead(node, level);
                if ((uint)head > (uint)MaxLinks(level))
                {
                    throw new InvalidDataException($"Node {node} has {head} links at level {level}; at most {MaxLinks(level)} are allowed.");
                }

                foreach (var id in Neighbors(node, level))
                {
                    if ((uint)id >= (uint)_count || _levels[id] < level)
                    {
                        throw new InvalidDataException($"Node {node} links to invalid node {id} at level {level}.");
                    }
                }
            }
        }
    }

    private static void WriteInts(Stream stream, ReadOnlySpan<int> values)
    {
        if (BitConverter.IsLittleEndian)
        {
            stream.Write(MemoryMarshal.AsBytes(values));
            return;
        }

        var swapped = new int[values.Length];
        BinaryPrimitives.ReverseEndianness(values, swapped);
        stream.Write(MemoryMarshal.AsBytes(swapped.AsSpan()));
    }

    private static void ReadInts(Stream stream, Span<int> values)
    {
        stream.ReadExactly(MemoryMarshal.AsBytes(values));
        if (!BitConverter.IsLittleEndian)
        {
            BinaryPrimitives.ReverseEndianness(values, values);
        }
    }
}
