using Quiver.Index.Hnsw;
using Quiver.Segment.Payloads;
using Quiver.Segment.Points;
using Quiver.Segment.Segments;

namespace Quiver.Segment.Tests.Segments;

/// <summary>
/// A live-indexed segment of wide vectors grows a projection sketch as its rows are linked; exact scans skip rows
/// by it and still return exactly the brute-force answer, including over rows written after the last extension.
/// </summary>
public sealed class SketchTests
{
    private const int Dim = 272;
    private static readonly SegmentVectorSpace[] Spaces = [new("v", Dim, VectorMetric.NegSquaredL2)];
    private static readonly HnswBuildOptions Options = new() { M = 8, EfConstruct = 32, Threads = 1 };

    private static float[] Vector(Random random, float[][] centres)
    {
        var centre = centres[random.Next(centres.Length)];
        return [.. centre.Select(c => c + (float)((random.NextDouble() - 0.5) * 0.4))];
    }

    private static void Link(PointSegment segment)
    {
        var (rows, vectors) = segment.CaptureRows();
        segment.ExtendGraphs(rows, vectors, Options, null, default);
        segment.ExtendSketches(rows, vectors, threads: 2, default);
    }

    private static void AssertExact(PointSegment segment, Dictionary<ulong, float[]> model, Random random, float[][] centres)
    {
        for (var q = 0; q < 20; q++)
        {
            var query = Vector(random, centres);
            var found = segment.Search(0, query, null, 10, null, SegmentSearchParams.ExactScan, default).Select(h => segment.IdAt(h.Id).Number);
            var expected = model.OrderBy(p => p.Value.Zip(query, (a, b) => (double)(a - b) * (a - b)).Sum()).ThenBy(p => p.Key).Take(10).Select(p => p.Key);
            Assert.Equal(expected, found);
        }
    }

    [Fact]
    public void A_live_segment_sketches_its_linked_rows_and_scans_stay_exact()
    {
        var random = new Random(41);
        var centres = Enumerable.Range(0, 6).Select(_ => Enumerable.Range(0, Dim).Select(_ => (float)random.NextDouble()).ToArray()).ToArray();
        var segment = new PointSegment(Spaces);
        var model = new Dictionary<ulong, float[]>();
        void Write(ulong id, ulong version)
        {
            model[id] = Vector(random, centres);
            segment.Upsert(PointId.FromNumber(id), version, [new NamedVector("v", model[id])], Payload.Empty);
        }

        for (ulong i = 0; i < 600; i++)
            Write(i, 1);
        segment.StartLiveIndexing(8, 4000);
        Link(segment);
        // Too few rows to choose directions from yet.
        Assert.Null(segment.Sketch(0));

        for (ulong i = 600; i < 1500; i++)
            Write(i, 1);
        Link(segment);
        Assert.Equal(1500, segment.Sketch(0)!.Rows);
        AssertExact(segment, model, random, centres);
        // The answers were exact and most rows were never read: six tight clusters, top 10 from one of them.
        Assert.True(segment.SketchSkippedRows > 20 * 1500 / 2, $"skipped {segment.SketchSkippedRows} of {20 * 1500} rows");

        // Updates move points to rows past the sketch, deletes drop rows it covers: both handled exactly.
        for (ulong i = 0; i < 1500; i += 9)
            Write(i, 2);
        for (ulong i = 4; i < 1500; i += 23)
        {
            if (segment.Delete(PointId.FromNumber(i), 3))
                model.Remove(i);
        }

        Assert.True(segment.UsedSlots > segment.Sketch(0)!.Rows);
        AssertExact(segment, model, random, centres);

        Link(segment);
        Assert.Equal(segment.UsedSlots, segment.Sketch(0)!.Rows);
        AssertExact(segment, model, random, centres);
        Assert.True(segment.SketchBytes > 0);
    }

    [Fact]
    public void Only_rows_that_never_change_take_a_sketch()
    {
        var plain = new PointSegment(Spaces);
        plain.Upsert(PointId.FromNumber(1), 1, [new NamedVector("v", new float[Dim])], Payload.Empty);
        var sketch = Quiver.Index.Sketch.ProjectionSketch.Build(new float[Dim * 1], Dim, 1, 1);
        Assert.Throws<InvalidOperationException>(() => plain.AttachSketch(0, sketch));
        Assert.False(PointSegment.Sketches(new SegmentVectorSpace("narrow", 128, VectorMetric.NegSquaredL2)));
        Assert.False(PointSegment.Sketches(new SegmentVectorSpace("l1", 512, VectorMetric.NegL1)));
        Assert.True(PointSegment.Sketches(new SegmentVectorSpace("dot", 512, VectorMetric.Dot)));
    }
}
