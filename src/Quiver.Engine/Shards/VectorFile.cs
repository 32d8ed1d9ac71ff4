using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Quiver.Index.Mapping;
using Quiver.Kernels;
using Quiver.Segment.Segments;
using Quiver.Storage.Files;

namespace Quiver.Engine.Shards;

/// <summary>
/// <c>seg-{id}-{space}.vec</c>: an indexed segment's rows of one vector space, in a checksummed file laid out to be
/// memory-mapped. Body: int32 row count, int32 dimension, int32 offset of the rows (from the body's start),
/// int32 datatype of the rows (0 float32; version 2 added 1 float16 and 2 uint8); one presence byte per row (1: the
/// point has a vector in this space); zero padding so the rows start on a 64-byte boundary of the file; then the
/// rows, row-major little-endian. A space whose vectors are on_disk serves from the mapping; otherwise the rows are
/// copied into memory at load (as the space's datatype).
/// </summary>
internal static class VectorFile
{
    public const string Kind = "QVEC";
    private const ushort Version = 2;
    private const int FixedHeader = 16;
    private const int RowAlignment = 64;

    /// <summary>Writes the stored rows of <paramref name="space"/> (a sealed segment's, which never change), in their datatype.</summary>
    public static void Write(string path, PointSegment segment, int space)
    {
        var dimension = segment.Spaces[space].Dimension;
        if (segment.TryGetStoredCompactRows(space, out var datatype, out var count))
        {
            WriteRows(path, dimension, count, datatype, row => segment.HasVector(row, space), (first, rows, destination) =>
                segment.CompactRowBytes(space, first, rows).CopyTo(destination), segment.Spaces[space].ElementBytes, default);
            return;
        }

        var stored = segment.StoredVectorRows(space);
        var spaceDatatype = segment.Spaces[space].Datatype;
        if (spaceDatatype == VectorDatatype.Float32)
        {
            Write(path, dimension, stored.Length / dimension, row => segment.HasVector(row, space), (row, destination) => stored.Span.Slice(row * dimension, dimension).CopyTo(destination));
            return;
        }

        // float32 rows of a compact space (mapped from a file staged as float32): converted as they are written.
        WriteRows(path, dimension, stored.Length / dimension, spaceDatatype, row => segment.HasVector(row, space), (first, rows, destination) =>
        {
            var values = stored.Span.Slice(first * dimension, rows * dimension);
            if (spaceDatatype == VectorDatatype.Float16)
                CompactValues.ToHalf(values, MemoryMarshal.Cast<byte, Half>(destination));
            else
                CompactValues.ToByte(values, destination);
        }, segment.Spaces[space].ElementBytes, default);
    }

    /// <summary>
    /// Writes <paramref name="count"/> float32 rows: <paramref name="present"/> says which have a vector, and
    /// <paramref name="fill"/> writes such a row's values (others are zeros).
    /// </summary>
    public static void Write(string path, int dimension, int count, Func<int, bool> present, RowFiller fill, CancellationToken cancellationToken = default)
    {
        WriteRows(path, dimension, count, VectorDatatype.Float32, present, (first, rows, destination) =>
        {
            var floats = MemoryMarshal.Cast<byte, float>(destination);
            for (var i = 0; i < rows; i++)
            {
                var row = floats.Slice(i * dimension, dimension);
                if (present(first + i))
                    fill(first + i, row);
                else
                    row.Clear();
            }
        }, sizeof(float), cancellationToken);
    }

    /// <summary>Copies rows [first, first + rows) as stored into <c>destination</c>.</summary>
    private delegate void ChunkFiller(int first, int rows, Span<byte> destination);

    private static void WriteRows(string path, int dimension, int count, VectorDatatype datatype, Func<int, bool> present, ChunkFiller fill, int elementBytes, CancellationToken cancellationToken)
    {
        var rowsOffset = RowsOffset(count);
        // float32 files keep version 1, which older builds read.
        ChecksummedFile.WriteAtomic(path, Kind, datatype == VectorDatatype.Float32 ? (ushort)1 : Version, stream =>
        {
            var header = new byte[rowsOffset];
            BinaryPrimitives.WriteInt32LittleEndian(header, count);
            BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(4), dimension);
            BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(8), rowsOffset);
            BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(12), (int)datatype);
            for (var row = 0; row < count; row++)
                header[FixedHeader + row] = present(row) ? (byte)1 : (byte)0;
            stream.Write(header);
            // Rows gathered into about 1 MiB before each write: the file stream underneath is unbuffered.
            var perChunk = Math.Max(1, (1 << 20) / (dimension * elementBytes));
            var buffer = new byte[perChunk * dimension * elementBytes];
            for (var first = 0; first < count; first += perChunk)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var rows = Math.Min(perChunk, count - first);
                var chunk = buffer.AsSpan(0, rows * dimension * elementBytes);
                fill(first, rows, chunk);
                stream.Write(chunk);
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
            var datatype = (VectorDatatype)BinaryPrimitives.ReadInt32LittleEndian(header[12..]);
            if (datatype is not (VectorDatatype.Float32 or VectorDatatype.Float16 or VectorDatatype.UInt8))
                throw new InvalidDataException($"{path}: rows of unknown datatype {(int)datatype}");
            var elementBytes = datatype switch { VectorDatatype.Float16 => 2, VectorDatatype.UInt8 => 1, _ => sizeof(float) };
            if (dimension != segment.Spaces[space].Dimension)
                throw new InvalidDataException($"{path}: rows of {dimension} dimensions, the space has {segment.Spaces[space].Dimension}");
            if (count < 0 || count > segment.UsedSlots || rowsOffset != RowsOffset(count)
                || length != rowsOffset + ((long)count * dimension * elementBytes))
            {
                throw new InvalidDataException($"{path}: holds {length} bytes, which {count} rows of {dimension} (of a segment of {segment.UsedSlots}) do not fill");
            }

            return new Opened(region, count, dimension, rowsOffset, datatype, segment.Spaces[space].Datatype);
        }
        catch
        {
            region.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A checked, mapped vector file of rows stored as <paramref name="datatype"/>, for a space whose datatype is
    /// <paramref name="spaceDatatype"/> (a float32 file of a compact space holds its values exactly: rounded on
    /// insert); <see cref="Prepare"/> consumes it.
    /// </summary>
    public sealed unsafe class Opened(MappedFileRegion region, int count, int dimension, int rowsOffset, VectorDatatype datatype, VectorDatatype spaceDatatype)
    {
        /// <summary>Per row, 1 when it has a vector.</summary>
        public byte[] PresentFlags() => new ReadOnlySpan<byte>(region.Pointer + FixedHeader, count).ToArray();

        /// <summary>
        /// The rows, mapped as stored (the mapping goes with them) or copied into memory as the space's datatype
        /// (the mapping is released). Slow for a large copy: call it before taking a lock.
        /// </summary>
        public PreparedVectorRows Prepare(bool mapped)
        {
            try
            {
                var length = checked(count * dimension);
                if (mapped)
                {
                    return datatype == VectorDatatype.Float32
                        ? PreparedVectorRows.Map(region, rowsOffset, length)
                        : PreparedVectorRows.MapCompact(region, rowsOffset, length, datatype);
                }

                var copy = datatype == VectorDatatype.Float32
                    ? PreparedVectorRows.Copy(new ReadOnlySpan<float>(region.Pointer + rowsOffset, length), spaceDatatype)
                    : PreparedVectorRows.CopyCompact(region.Pointer + rowsOffset, length, datatype);
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
