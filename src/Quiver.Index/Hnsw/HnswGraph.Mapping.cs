using Quiver.Index.Mapping;

namespace Quiver.Index.Hnsw;

public sealed unsafe partial class HnswGraph
{
    /// <summary>
    /// Opens a graph that <see cref="WriteTo"/> wrote at <paramref name="offset"/> of the file at
    /// <paramref name="path"/> (<paramref name="length"/> bytes), leaving its link lists in the file: they are mapped
    /// read-only and paged in as searches touch them, and the OS may evict them under memory pressure (Qdrant's
    /// <c>hnsw_config.on_disk</c>). Levels and offsets are read into memory. Checked like <see cref="ReadFrom"/>.
    /// </summary>
    /// <exception cref="InvalidDataException">The data is truncated, damaged or of an unsupported version.</exception>
    public static HnswGraph OpenMapped(string path, long offset, long length)
    {
        if (length < HeaderBytes)
            throw new InvalidDataException("HNSW graph data is truncated.");
        var mapping = new MappedFileRegion(path, offset, length);
        try
        {
            var start = mapping.Pointer;
            var (count, dim, m, entry, maxLevel) = ParseHeader(new ReadOnlySpan<byte>(start, HeaderBytes));
            if (length < HeaderBytes + (long)count)
                throw new InvalidDataException("HNSW graph data is truncated.");
            var levels = new ReadOnlySpan<byte>(start + HeaderBytes, count).ToArray();
            var upperInts = CheckLevels(levels, m, entry, maxLevel);
            var level0Ints = (long)count * (1 + (2 * m));
            if (length != HeaderBytes + count + ((level0Ints + upperInts) * sizeof(int)))
                throw new InvalidDataException($"HNSW graph data holds {length} bytes; {count} nodes of M {m} need {HeaderBytes + count + ((level0Ints + upperInts) * sizeof(int))}.");
            if (!BitConverter.IsLittleEndian)
                throw new InvalidDataException("Mapped graphs are read on little-endian machines only.");
            var level0 = (int*)(start + HeaderBytes + count);
            var graph = new HnswGraph(count, dim, m, levels, mapping, level0, level0 + level0Ints);
            graph.Validate();
            graph._entry = PackEntry(entry, maxLevel);
            return graph;
        }
        catch
        {
            mapping.Dispose();
            throw;
        }
    }
}
