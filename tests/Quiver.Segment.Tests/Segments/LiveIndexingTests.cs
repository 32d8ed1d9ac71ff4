using Quiver.Index.Hnsw;
using Quiver.Segment.Filtering;
using Quiver.Segment.Payloads;
using Quiver.Segment.Points;
using Quiver.Segment.Segments;

namespace Quiver.Segment.Tests.Segments;

/// <summary>
/// An appendable segment indexed live: its graph links a prefix of the rows, the rest is scanned exactly, and
/// writes append rows instead of changing linked ones.
/// </summary>
public sealed class LiveIndexingTests
{
    private const int Dim = 16;
    private static readonly SegmentVectorSpace[] Spaces = [new("v", Dim, VectorMetric.NegSquaredL2), new("w", 2, VectorMetric.Dot)];
    private static readonly SegmentSearchParams Graph = new(64, Exact: false, FullScanThreshold: 10);
    private static readonly HnswBuildOptions Options = new() { M = 8, EfConstruct = 64, Threads = 1 };

    private static PointId Id(ulong n) => PointId.FromNumber(n);

    private static float[] Vector(Random random) => [.. Enumerable.Range(0, Dim).Select(_ => (float)random.NextDouble())];

    private static void Link(PointSegment segment)
    {
        var (rows, vectors) = segment.CaptureRows();
        segment.ExtendGraphs(rows, vectors, Options, null, default);
    }

    private static ulong[] Top(PointSegment s, float[] query, int k, Filter? filter = null, bool exact = false) =>
        [.. s.Search(0, query, filter, k, null, exact ? SegmentSearchParams.ExactScan : Graph, default).Select(h => s.IdAt(h.Id).Number)];

    [Fact]
    public void Rows_not_linked_yet_are_found_exactly_and_linked_ones_through_the_graph()
    {
        var random = new Random(5);
        var s = new PointSegment(Spaces);
        var model = new Dictionary<ulong, float[]>();
        for (ulong i = 0; i < 500; i++)
        {
            model[i] = Vector(random);
            s.Upsert(Id(i), i + 1, [new NamedVector("v", model[i])], Payload.Empty);
        }

        s.StartLiveIndexing(8, 2000);
        Assert.True(s.IsLiveIndexed);
        Assert.Equal(500, s.UnlinkedRows);
        Assert.Equal(0, s.IndexedVectorCount());

        // Nothing linked yet: the search is an exact scan of every row.
        var query = Vector(random);
        Assert.Equal(Top(s, query, 10, exact: true), Top(s, query, 10));

        Link(s);
        Assert.Equal(0, s.UnlinkedRows);
        Assert.Equal(500, s.IndexedVectorCount());

        // A point written after the last link: returned at once, exactly, as its own nearest neighbour.
        var fresh = Vector(random);
        s.Upsert(Id(1000), 2000, [new NamedVector("v", fresh)], Payload.Empty);
        Assert.Equal(1, s.UnlinkedRows);
        Assert.Equal(1000UL, Top(s, fresh, 1)[0]);

        var agree = 0;
        for (var q = 0; q < 50; q++)
        {
            query = Vector(random);
            agree += Top(s, query, 10).Intersect(Top(s, query, 10, exact: true)).Count();
        }

        Assert.True(agree >= 480, $"{agree} of 500 top-10 hits agree with the exact scan");
    }

    [Fact]
    public void Updates_move_points_to_new_rows_and_old_rows_are_never_returned()
    {
        var random = new Random(6);
        var s = new PointSegment(Spaces);
        for (ulong i = 0; i < 100; i++)
            s.Upsert(Id(i), 1, [new NamedVector("v", Vector(random)), new NamedVector("w", [1, 0])], Payload.FromUtf8("""{"k":1}"""u8.ToArray()));
        s.StartLiveIndexing(8, 1000);
        Link(s);
        Assert.True(s.TryGetOffset(Id(7), out var before));

        // Upsert and vector update of linked points: each gets a fresh row; the old rows keep their vectors.
        var moved = Vector(random);
        Assert.True(s.Upsert(Id(7), 2, [new NamedVector("v", moved)], Payload.Empty));
        Assert.True(s.TryGetOffset(Id(7), out var after));
        Assert.Equal(100, after);
        Assert.NotEqual(before, after);
        Assert.False(s.IsLiveAt(before));
        Assert.Equal(7UL, Top(s, moved, 1)[0]);

        var updated = Vector(random);
        Assert.True(s.UpdateVectors(Id(8), 3, [new NamedVector("v", updated)]));
        Assert.True(s.TryGetOffset(Id(8), out var eight));
        Assert.Equal(101, eight);
        Assert.Equal([1f, 0f], s.VectorAt(eight, 1).ToArray()); // the vector not updated came along
        Assert.Equal("""{"k":1}""", System.Text.Encoding.UTF8.GetString(s.PayloadAt(eight).Utf8));
        Assert.Equal(8UL, Top(s, updated, 1)[0]);

        // Deleted points are never returned; freed rows are not reused.
        Assert.True(s.Delete(Id(9), 4));
        s.Upsert(Id(500), 5, [new NamedVector("v", Vector(random))], Payload.Empty);
        Assert.True(s.TryGetOffset(Id(500), out var five));
        Assert.Equal(102, five);
        Link(s);
        Assert.Equal(100, s.LiveCount); // moves keep the count; 9 deleted, 500 added
        Assert.Equal(103, s.UsedSlots);
        for (var q = 0; q < 30; q++)
        {
            var hits = Top(s, Vector(random), 100);
            Assert.Equal(hits.Length, hits.Distinct().Count());
            Assert.DoesNotContain(9UL, hits);
        }

        Assert.Equal(100, Top(s, Vector(random), 200).Length);
    }

    [Fact]
    public void A_live_graph_written_and_read_back_resumes_linking_where_it_ended()
    {
        var random = new Random(8);
        var model = new Dictionary<ulong, float[]>();
        var first = new PointSegment(Spaces);
        first.StartLiveIndexing(8, 3000);
        for (ulong i = 0; i < 700; i++)
        {
            model[i] = Vector(random);
            first.Upsert(Id(i), 1, [new NamedVector("v", model[i])], Payload.Empty);
        }

        Link(first);
        var written = new MemoryStream();
        first.Graph(0)!.WriteTo(written);
        written.Position = 0;
        var read = HnswGraph.ReadFrom(written);

        // The same rows in a new segment (as a restart loads them), plus rows written after the graph was.
        var second = new PointSegment(Spaces);
        second.MakeAppendOnly();
        foreach (var (id, v) in model)
            second.Upsert(Id(id), 1, [new NamedVector("v", v)], Payload.Empty);
        for (ulong i = 700; i < 1000; i++)
        {
            model[i] = Vector(random);
            second.Upsert(Id(i), 1, [new NamedVector("v", model[i])], Payload.Empty);
        }

        second.StartLiveIndexing(8, 3000, [read, null]);
        // Space "v" resumes at row 700 from the same entry point; space "w" had no graph written and starts over.
        Assert.Equal(700, second.Graph(0)!.Count);
        Assert.Equal(first.Graph(0)!.EntryPoint, second.Graph(0)!.EntryPoint);
        Assert.Equal(0, second.Graph(1)!.Count);

        // A graph of another M is not resumed.
        var other = new PointSegment(Spaces);
        other.MakeAppendOnly();
        foreach (var (id, v) in model.Where(p => p.Key < 700))
            other.Upsert(Id(id), 1, [new NamedVector("v", v)], Payload.Empty);
        other.StartLiveIndexing(12, 3000, [read, null]);
        Assert.Equal(0, other.Graph(0)!.Count);

        // Nor one whose rows are a fifth deleted: it would route through rows a restart loads as zeros.
        var holed = new PointSegment(Spaces);
        holed.MakeAppendOnly();
        foreach (var (id, v) in model.Where(p => p.Key < 700))
            holed.Upsert(Id(id), 1, [new NamedVector("v", v)], Payload.Empty);
        for (ulong id = 0; id < 700; id += 5)
            holed.Delete(Id(id), 2);
        holed.StartLiveIndexing(8, 3000, [read, null]);
        Assert.Equal(0, holed.Graph(0)!.Count);

        Link(second);
        Assert.Equal(0, second.UnlinkedRows);
        var agree = 0;
        for (var q = 0; q < 30; q++)
        {
            var query = Vector(random);
            agree += Top(second, query, 10).Intersect(Top(second, query, 10, exact: true)).Count();
        }

        Assert.True(agree >= 285, $"recall {agree / 300.0:F3} below 0.95 after resuming");
    }

    [Fact]
    public void Rows_without_a_vector_are_left_out_of_the_graph_and_never_returned()
    {
        var random = new Random(7);
        var s = new PointSegment(Spaces);
        s.StartLiveIndexing(8, 4096);
        // Only every third point has a "w" vector; the other rows are not linked into its graph.
        var withW = new Dictionary<ulong, float[]>();
        for (ulong i = 0; i < 600; i++)
        {
            var vectors = new List<NamedVector> { new("v", Vector(random)) };
            if (i % 3 == 0)
            {
                withW[i] = [(float)random.NextDouble(), (float)random.NextDouble()];
                vectors.Add(new NamedVector("w", withW[i]));
            }

            s.Upsert(Id(i), 1, vectors, Payload.Empty);
        }

        Link(s);
        for (var q = 0; q < 20; q++)
        {
            float[] query = [(float)random.NextDouble(), (float)random.NextDouble()];
            var hits = s.Search(1, query, null, 10, null, Graph, default);
            Assert.Equal(10, hits.Length);
            Assert.All(hits, h => Assert.True(withW.ContainsKey(s.IdAt(h.Id).Number)));
            Assert.All(hits, h => Assert.False(float.IsNaN(h.Score)));
            var exact = withW.OrderByDescending(p => (p.Value[0] * query[0]) + (p.Value[1] * query[1])).First().Key;
            Assert.Equal(exact, s.IdAt(hits[0].Id).Number);
        }
    }
}
