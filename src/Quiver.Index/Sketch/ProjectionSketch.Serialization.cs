using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Quiver.Index.Sketch;

/// <summary>
/// Binary format, version 1 (little-endian):
/// <code>
/// bytes  0..3   magic "QSKT"
/// bytes  4..7   uint32 version = 1
/// bytes  8..11  int32 dim
/// bytes 12..15  int32 width   (= Width)
/// bytes 16..19  int32 rows
/// then          float32[(width - 1) * dim]   orthonormal directions, row-major
/// then          float32[rows * width]        sketch rows
/// </code>
/// </summary>
public sealed partial class ProjectionSketch
{
    private const uint Magic = 0x544B5351; // "QSKT" read as little-endian
    private const uint FormatVersion = 1;
    private const int HeaderBytes = 20;

    /// <summary>Writes the directions and the rows sketched so far.</summary>
    public void WriteTo(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Span<byte> header = stackalloc byte[HeaderBytes];
        BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], FormatVersion);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], Dimension);
        BinaryPrimitives.WriteInt32LittleEndian(header[12..], Width);
        var rows = Rows;
        BinaryPrimitives.WriteInt32LittleEndian(header[16..], rows);
        stream.Write(header);
        stream.Write(MemoryMarshal.AsBytes(_basis.AsSpan()));
        stream.Write(MemoryMarshal.AsBytes(_rows.AsSpan(0, rows * Width)));
    }

    /// <summary>Reads a sketch written by <see cref="WriteTo"/>.</summary>
    /// <exception cref="InvalidDataException">The data is truncated, damaged or of another version or width.</exception>
    public static ProjectionSketch ReadFrom(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Span<byte> header = stackalloc byte[HeaderBytes];
        try
        {
            stream.ReadExactly(header);
            if (BinaryPrimitives.ReadUInt32LittleEndian(header) != Magic)
                throw new InvalidDataException("Not a projection sketch (bad magic).");
            if (BinaryPrimitives.ReadUInt32LittleEndian(header[4..]) is var version && version != FormatVersion)
                throw new InvalidDataException($"Unsupported sketch version {version}.");
            var dim = BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
            var width = BinaryPrimitives.ReadInt32LittleEndian(header[12..]);
            var rows = BinaryPrimitives.ReadInt32LittleEndian(header[16..]);
            if (width != Width || dim < Width || dim > 65536 || rows < 0)
                throw new InvalidDataException($"Sketch header out of range (dim {dim}, width {width}, rows {rows}).");
            var basis = new float[Coordinates * dim];
            stream.ReadExactly(MemoryMarshal.AsBytes(basis.AsSpan()));
            var sketchRows = new float[(long)rows * Width];
            stream.ReadExactly(MemoryMarshal.AsBytes(sketchRows.AsSpan()));
            if (stream.CanSeek && stream.Position != stream.Length)
                throw new InvalidDataException("Trailing bytes after the sketch.");
            return new ProjectionSketch(dim, rows, basis, sketchRows);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("The sketch is truncated.", e);
        }
    }
}
