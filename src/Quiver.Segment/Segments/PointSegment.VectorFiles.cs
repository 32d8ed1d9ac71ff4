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
        _stores[space].Adopt(rows.Rows, present);
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
        _stores[space].Rehome(rows.Rows);
    }
}

/// <summary>
/// A space's rows read from a vector file, prepared (mapped, or copied into memory) before a lock is taken, to be
/// handed to <see cref="PointSegment.AdoptVectors"/> or <see cref="PointSegment.RehomeVectors"/>.
/// </summary>
public sealed class PreparedVectorRows
{
    private PreparedVectorRows(IFrozenRows rows) => Rows = rows;

    internal IFrozenRows Rows { get; }

    /// <summary>
    /// The <paramref name="length"/> floats at byte <paramref name="byteOffset"/> of <paramref name="region"/>, left
    /// there; the rows own the mapping from now on.
    /// </summary>
    public static PreparedVectorRows Map(MappedFileRegion region, long byteOffset, int length) => new(new MappedRows(region, byteOffset, length));

    /// <summary>A copy of <paramref name="rows"/> in (huge-page) memory.</summary>
    public static PreparedVectorRows Copy(ReadOnlySpan<float> rows) => new(new HugePageBuffer(rows));
}
