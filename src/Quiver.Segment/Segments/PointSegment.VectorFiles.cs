using Quiver.Index.Mapping;
using Quiver.Segment.Internal;

namespace Quiver.Segment.Segments;

public sealed partial class PointSegment
{
    /// <summary>
    /// The rows of a space as its vector file holds them: the first <see cref="UsedSlots"/>, or fewer when the
    /// space's store never grew that far (the rows past it have no vector).
    /// </summary>
    public ReadOnlyMemory<float> StoredVectorRows(int space) => _stores[space].StoredRows(_used);

    /// <summary>
    /// How many rows of a space its vector file holds when they are compact (float16, uint8), and their datatype:
    /// the first <see cref="UsedSlots"/>, or fewer when the store never grew that far. False while they are float32.
    /// </summary>
    public bool TryGetStoredCompactRows(int space, out VectorDatatype datatype, out int rows)
    {
        var store = _stores[space];
        if (store.Compact is not { } compact)
        {
            datatype = VectorDatatype.Float32;
            rows = 0;
            return false;
        }

        datatype = compact.Datatype;
        rows = (int)Math.Min(_used, compact.Length / Math.Max(1, store.Dimension));
        return true;
    }

    /// <summary>The bytes of compact rows [<paramref name="first"/>, first + <paramref name="rows"/>) of a space, as stored.</summary>
    public ReadOnlySpan<byte> CompactRowBytes(int space, int first, int rows)
    {
        var store = _stores[space];
        var compact = store.Compact ?? throw new InvalidOperationException($"space '{store.Name}' holds float32 rows");
        return compact.BytesOf((long)first * store.Dimension, rows * store.Dimension);
    }

    /// <summary>Whether a space's rows are held in a compact datatype (float16, uint8) rather than float32.</summary>
    public bool VectorsCompact(int space) => _stores[space].Compact is not null;

    /// <summary>Whether a space's rows are read from its mapped vector file (on_disk) rather than held in memory.</summary>
    public bool VectorsMapped(int space) => _stores[space].IsMapped;

    /// <summary>Bytes of vector files mapped for this segment's rows: on disk, paged in by the OS as searches read them.</summary>
    public long MappedVectorBytes => _stores.Sum(s => s.MappedBytes);

    /// <summary>
    /// Gives a sealed segment just loaded (its space's rows not loaded with the points) the rows of its vector
    /// file; a nonzero byte of <paramref name="present"/> marks a row that has a vector.
    /// </summary>
    public void AdoptVectors(int space, PreparedVectorRows rows, ReadOnlySpan<byte> present)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ThrowIfNotSealed();
        _stores[space].Adopt(rows.Rows, rows.Compact, present);
    }

    /// <summary>
    /// Moves a serving sealed segment's rows of a space to another home with the same values (mapped from its
    /// vector file, or copied into memory); which rows have a vector is unchanged. The caller excludes readers
    /// (the shard's write lock).
    /// </summary>
    public void RehomeVectors(int space, PreparedVectorRows rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ThrowIfNotSealed();
        _stores[space].Rehome(rows.Rows, rows.Compact);
    }
}

/// <summary>
/// A space's rows read from a vector file, prepared (mapped, or copied into memory) before a lock is taken, to be
/// handed to <see cref="PointSegment.AdoptVectors"/> or <see cref="PointSegment.RehomeVectors"/>.
/// </summary>
public sealed class PreparedVectorRows
{
    private PreparedVectorRows(IFrozenRows? rows, CompactRows? compact)
    {
        Rows = rows;
        Compact = compact;
    }

    internal IFrozenRows? Rows { get; }

    internal CompactRows? Compact { get; }

    /// <summary>
    /// The <paramref name="length"/> floats at byte <paramref name="byteOffset"/> of <paramref name="region"/>, left
    /// there; the rows own the mapping from now on.
    /// </summary>
    public static PreparedVectorRows Map(MappedFileRegion region, long byteOffset, int length) => new(new MappedRows(region, byteOffset, length), null);

    /// <summary>
    /// The <paramref name="length"/> values of a compact <paramref name="datatype"/> at byte
    /// <paramref name="byteOffset"/> of <paramref name="region"/>, left there; the rows own the mapping from now on.
    /// </summary>
    public static PreparedVectorRows MapCompact(MappedFileRegion region, long byteOffset, int length, VectorDatatype datatype) =>
        new(null, CompactRows.Map(region, byteOffset, length, datatype));

    /// <summary>
    /// A copy of float32 <paramref name="rows"/> in (huge-page) memory, stored as <paramref name="datatype"/> (whose
    /// values they hold exactly: rows of a compact space are rounded on insert).
    /// </summary>
    public static PreparedVectorRows Copy(ReadOnlySpan<float> rows, VectorDatatype datatype = VectorDatatype.Float32) =>
        datatype == VectorDatatype.Float32 ? new(new HugePageBuffer(rows), null) : new(null, CompactRows.Convert(rows, datatype));

    /// <summary>A copy in (huge-page) memory of <paramref name="length"/> values of a compact datatype, stored at <paramref name="source"/>.</summary>
    public static unsafe PreparedVectorRows CopyCompact(byte* source, int length, VectorDatatype datatype) =>
        new(null, CompactRows.Copy(source, length, datatype));
}
