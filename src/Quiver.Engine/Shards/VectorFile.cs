using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Quiver.Index.Mapping;
using Quiver.Segment.Segments;
using Quiver.Storage.Files;

namespace Quiver.Engine.Shards;

/// <summary>
/// <c>seg-{id}-{space}.vec</c>: an indexed segment's rows of one vector space, in a checksummed file laid out to be
/// memory-mapped. Body: int32 row count, int32 dimension, int32 offset of the rows (from the body's start),
/// int32 reserved; one presence byte per row (1: the point has a vector in this space); zero padding so the rows
/// start on a 64-byte boundary of the file; then the rows, row-major little-endian float32. A space whose
/// vectors are on_disk serves from the mapping; otherwise the rows are copied into memory at load.
/// </summary>
internal static class VectorFile
{
    public const string Kind = "QVEC";
    private const ushort Version = 1;
    private const int FixedHeader = 16;
    private const int RowAlignment = 64;

    /// <summary>Writes the stored rows of <paramref name="space"/> (a sealed segment's, which never change).</summary>
    public static void Write(string path, PointSegment segment, int space)
    {
        var dimension = segment.Spaces[space].Dimension;
        var rows = segment.StoredVectorRows(space);
        Write(path, dimension, rows.Length / dimension, row => segment.HasVector(row, space), (row, destination) => rows.Span.Slice(row * dimension, dimension).CopyTo(destination));
    }

    /// <summary>
    /// Writes <paramref name="count"/> rows: <paramref name="present"/> says which have a vector, and
    /// <paramref name="fill"/> writes such a row's values (others are zeros).
    /// </summary>
    public static void Write(string path, int dimension, int count, Func<int, bool> present, RowFiller fill, CancellationToken cancellationToken = default)
    {
        var rowsOffset = RowsOffset(count);
        ChecksummedFile.WriteAtomic(path, Kind, Version, stream =>
        {
            var header = new byte[rowsOffset];
            BinaryPrimitives.WriteInt32LittleEndian(header, count);
            BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(4), dimension);
            BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(8), rowsOffset);
            for (var row = 0; row < count; row++)
                header[FixedHeader + row] = present(row) ? (byte)1 : (byte)0;
            stream.Write(header);
            // Rows gathered into about 1 MiB before each write: the file stream underneath is unbuffered.
            var perChunk = Math.Max(1, (1 << 18) / dimension);
            var buffer = new float[perChunk * dimension];
            for (var first = 0; first < count; first += perChunk)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var rows = Math.Min(perChunk, count - first);
                for (var i = 0; i < rows; i++)
                {
                    var destination = buffer.AsSpan(i * dimension, dimension);
                    if (header[FixedHeader + first + i] != 0)
                        fill(first + i, destination);
                    else
                        destination.Clear();
                }

                stream.Write(MemoryMarshal.AsBytes(buffer.AsSpan(0, rows * dimension)));
            }
        });
    }

    /// <summary>Writes the values of row <paramref name="row"/> into <paramref name="destination"/>.</summary>
    public delegate void RowFiller(int row, Span<float> destination);

    /// <summary>
    /// Gives a sealed segment just loaded its space's rows from the file at <paramref name="path"/>: mapped when
    /// <paramref name="mapped"/> (on_disk), else copied into memory. The file is checked (checksum, shape) first.
    /// </summary>
    /// <exception cref="InvalidDataException">The file does not hold this space's rows.</exception>
    /// <exception cref="StorageCorruptionException">The file is damaged.</exception>
    public static void Attach(string path, PointSegment segment, int space, bool mapped)
    {
        var file = Open(path, segment, space);
        var present = file.PresentFlags();
        segment.AdoptVectors(space, file.Prepare(mapped), present);
    }

    /// <summary>Checks and maps the file; <see cref="Opened.Prepare"/> then gives its rows a home.</summary>
    public static unsafe Opened Open(string path, PointSegment segment, int space)
    {
        var (_, length) = ChecksummedFile.Verify(path, Kind, Version);
        if (!BitConverter.IsLittleEndian)
            throw new InvalidDataException($"{path}: vector files are read on little-endian machines only");
        if (length < FixedHeader)
            throw new InvalidDataException($"{path}: {length} bytes, shorter than the header");
        var region = new MappedFileRegion(path, ChecksummedFile.HeaderSize, length);
        try
        {
            var header = new ReadOnlySpan<byte>(region.Pointer, FixedHeader);
            var count = BinaryPrimitives.ReadInt32LittleEndian(header);
            var dimension = BinaryPrimitives.ReadInt32LittleEndian(header[4..]);
            var rowsOffset = BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
            if (dimension != segment.Spaces[space].Dimension)
                throw new InvalidDataException($"{path}: rows of {dimension} dimensions, the space has {segment.Spaces[space].Dimension}");
            if (count < 0 || count > segment.UsedSlots || rowsOffset != RowsOffset(count)
                || length != rowsOffset + ((long)count * dimension * sizeof(float)))
            {
                throw new InvalidDataException($"{path}: holds {length} bytes, which {count} rows of {dimension} (of a segment of {segment.UsedSlots}) do not fill");
            }

            return new Opened(region, count, dimension, rowsOffset);
        }
        catch
        {
            region.Dispose();
            throw;
        }
    }

    /// <summary>A checked, mapped vector file; <see cref="Prepare"/> consumes it.</summary>
    public sealed unsafe class Opened(MappedFileRegion region, int count, int dimension, int rowsOffset)
    {
        /// <summary>Per row, 1 when it has a vector.</summary>
        public byte[] PresentFlags() => new ReadOnlySpan<byte>(region.Pointer + FixedHeader, count).ToArray();

        /// <summary>
        /// The rows, mapped (the mapping goes with them) or copied into memory (the mapping is released). Slow for a
        /// large copy: call it before taking a lock.
        /// </summary>
        public PreparedVectorRows Prepare(bool mapped)
        {
            try
            {
                if (mapped)
                    return PreparedVectorRows.Map(region, rowsOffset, checked(count * dimension));
                var copy = PreparedVectorRows.Copy(new ReadOnlySpan<float>(region.Pointer + rowsOffset, checked(count * dimension)));
                region.Dispose();
                return copy;
            }
            catch
            {
                region.Dispose();
                throw;
            }
        }
    }

    /// <summary>Where the rows start in the body: past the header and presence bytes, on a 64-byte boundary of the file.</summary>
    private static int RowsOffset(int count)
    {
        var end = ChecksummedFile.HeaderSize + FixedHeader + (long)count;
        return checked((int)((((end + RowAlignment - 1) / RowAlignment) * RowAlignment) - ChecksummedFile.HeaderSize));
    }
}
