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
    /// Serves a sealed segment's space from the rows at byte <paramref name="rowsOffset"/> of
    /// <paramref name="region"/>, which the segment owns from then on: on a segment just loaded,
    /// <paramref name="present"/> says which rows have a vector; on a serving one only the rows' home changes, and
    /// the caller excludes readers (the shard's write lock).
    /// </summary>
    public void MapVectors(int space, MappedFileRegion region, long rowsOffset, ReadOnlySpan<byte> present)
    {
        ThrowIfNotSealed();
        _stores[space].Adopt(new MappedRows(region, rowsOffset, checked(present.Length * Spaces[space].Dimension)), present);
    }

    /// <summary>Like <see cref="MapVectors"/>, with the rows copied into (huge-page) memory.</summary>
    public void LoadVectors(int space, ReadOnlySpan<float> rows, ReadOnlySpan<byte> present)
    {
        ThrowIfNotSealed();
        _stores[space].Adopt(new HugePageBuffer(rows), present);
    }
}
