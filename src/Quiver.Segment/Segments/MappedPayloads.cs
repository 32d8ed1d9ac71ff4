using System.Runtime.CompilerServices;
using Quiver.Index.Mapping;
using Quiver.Segment.Payloads;

namespace Quiver.Segment.Segments;

/// <summary>
/// The payloads of a sealed segment left in the file that stores them, mapped, and read and parsed each time one is
/// asked for (<c>on_disk_payload</c>): the segment keeps a file position per point instead of the parsed JSON, which
/// for documents with text is often larger than the vectors. Each payload is a UTF-8 JSON object preceded by its
/// length as a little-endian int32, at the position given for its row.
/// </summary>
public sealed unsafe class MappedPayloads
{
    private readonly MappedFileRegion _region;
    private readonly long[] _positions;
    private readonly bool[] _empty;

    /// <summary>
    /// Maps the file at <paramref name="path"/>; row i's payload starts at byte <paramref name="positions"/>[i]. Every
    /// position is checked against the file, so a read can never leave it.
    /// </summary>
    public MappedPayloads(string path, long[] positions)
    {
        ArgumentNullException.ThrowIfNull(positions);
        var length = new FileInfo(path).Length;
        _region = new MappedFileRegion(path, 0, length);
        _empty = new bool[positions.Length];
        try
        {
            for (var row = 0; row < positions.Length; row++)
            {
                var position = positions[row];
                if (position < sizeof(int) || position > length)
                    throw new InvalidDataException($"{path}: the payload of row {row} is at byte {position}, outside the file's {length}");
                var size = Unsafe.ReadUnaligned<int>(_region.Pointer + position - sizeof(int));
                if (size < 2 || size > length - position)
                    throw new InvalidDataException($"{path}: the payload of row {row} is {size} bytes at byte {position}, past the file's end ({length})");
                var start = _region.Pointer + position;
                _empty[row] = size == 2 && start[0] == (byte)'{' && start[1] == (byte)'}';
            }
        }
        catch
        {
            _region.Dispose();
            throw;
        }

        _positions = positions;
        Path = path;
    }

    public string Path { get; }

    /// <summary>Rows the file has a payload for.</summary>
    public int Count => _positions.Length;

    /// <summary>Bytes mapped (the whole points file): on disk, paged in by the OS as payloads are read.</summary>
    public long MappedBytes => _region.Length;

    /// <summary>Whether row <paramref name="row"/>'s payload is the empty object, which needs no read (noted at mapping).</summary>
    public bool IsEmptyAt(int row) => _empty[row];

    /// <summary>Row <paramref name="row"/>'s payload, parsed from the file.</summary>
    public Payload Read(int row)
    {
        var start = _region.Pointer + _positions[row];
        var size = Unsafe.ReadUnaligned<int>(start - sizeof(int));
        var utf8 = new ReadOnlySpan<byte>(start, size).ToArray();
        // The mapping stays while this object is reachable: not before the bytes are copied out.
        GC.KeepAlive(this);
        return Payload.FromUtf8(utf8);
    }
}
