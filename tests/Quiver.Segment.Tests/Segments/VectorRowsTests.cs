using Quiver.Segment.Payloads;
using Quiver.Segment.Points;
using Quiver.Segment.Segments;

namespace Quiver.Segment.Tests.Segments;

/// <summary>
/// A sealed segment's rows held elsewhere than its managed stores: a compacted copy that leaves a space's rows to
/// a vector file, rows adopted from one, and rows moved to another home while deletes stay deleted.
/// </summary>
public sealed class VectorRowsTests
{
    private const int Dim = 8;
    private static readonly SegmentVectorSpace[] Spaces = [new("a", Dim, VectorMetric.NegSquaredL2), new("b", 2, VectorMetric.Dot)];

    private static PointSegment Sealed(int points, out Dictionary<ulong, float[]> model)
    {
        var random = new Random(3);
        model = [];
        var segment = new PointSegment(Spaces);
        for (ulong id = 0; id < (ulong)points; id++)
        {
            model[id] = [.. Enumerable.Range(0, Dim).Select(_ => (float)random.NextDouble())];
            // Every third point lacks vector b.
            NamedVector[] vectors = id % 3 == 0 ? [new("a", model[id])] : [new("a", model[id]), new("b", [1f, (float)id])];
            segment.Upsert(PointId.FromNumber(id), 1, vectors, Payload.Empty);
        }

        segment.Seal();
        return segment;
    }

    [Fact]
    public void A_copy_that_leaves_a_space_elsewhere_holds_none_of_its_rows_until_they_are_adopted()
    {
        var source = Sealed(300, out var model);
        var offsets = source.LiveOffsets().Where(o => o % 2 == 0).ToArray();
        var copy = PointSegment.CopyOf([(source, offsets)], default, [true, false]);

        Assert.Equal(offsets.Length, copy.UsedSlots);
        Assert.Equal(0, copy.VectorCount(0));
        Assert.Equal(offsets.Count(o => source.HasVector(o, 1)), copy.VectorCount(1));
        Assert.True(copy.VectorBytes < offsets.Length * Dim * sizeof(float), $"{copy.VectorBytes} bytes held for rows left elsewhere");

        // What the engine writes to the vector file: the sources' rows in copy order, and which exist.
        var rows = offsets.SelectMany(o => source.VectorAt(o, 0).ToArray()).ToArray();
        var present = offsets.Select(o => source.HasVector(o, 0) ? (byte)1 : (byte)0).ToArray();
        copy.AdoptVectors(0, PreparedVectorRows.Copy(rows), present);

        Assert.Equal(offsets.Length, copy.VectorCount(0));
        for (var i = 0; i < offsets.Length; i++)
            Assert.Equal(model[source.IdAt(offsets[i]).Number], copy.VectorAt(i, 0).ToArray());
        Assert.Throws<InvalidOperationException>(() => copy.AdoptVectors(0, PreparedVectorRows.Copy(rows), present));
    }

    [Fact]
    public void Rows_moved_to_another_home_keep_the_deletes_made_since()
    {
        var segment = Sealed(120, out var model);
        var rows = segment.StoredVectorRows(0).ToArray();
        segment.Delete(PointId.FromNumber(7), 2);
        var before = segment.VectorCount(0);

        segment.RehomeVectors(0, PreparedVectorRows.Copy(rows));

        Assert.Equal(before, segment.VectorCount(0));
        Assert.False(segment.HasVector(7, 0));
        Assert.Equal(model[8], segment.VectorAt(8, 0).ToArray());
        Assert.Throws<ArgumentException>(() => segment.RehomeVectors(0, PreparedVectorRows.Copy(rows.AsSpan(0, rows.Length - 1))));
    }
}
