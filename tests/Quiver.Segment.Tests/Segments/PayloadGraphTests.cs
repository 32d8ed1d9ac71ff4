using System.Text;
using System.Text.Json;
using Quiver.Index.Hnsw;
using Quiver.Segment.Payloads;
using Quiver.Segment.Points;
using Quiver.Segment.Segments;
using Quiver.Segment.Tests.Filtering;

namespace Quiver.Segment.Tests.Segments;

/// <summary>
/// payload_m: a sealed segment builds a graph per indexed value held by enough points; filters requiring the value
/// walk it (even with no main graph), find what brute force over the matching points finds, never return deleted
/// or non-matching points, and survive a write/read round trip.
/// </summary>
public sealed class PayloadGraphTests
{
    private const int Dim = 16;
    private const int Tenants = 4;
    private const int PerTenant = 600;
    private static readonly SegmentVectorSpace[] Spaces = [new("v", Dim, VectorMetric.NegSquaredL2)];
    private static readonly HnswBuildOptions Options = new() { M = 8, EfConstruct = 64, Threads = 1 };
    private static readonly SegmentSearchParams Graph = new(64, false, 50);

    private static (PointSegment Segment, Dictionary<ulong, (float[] Vector, int Tenant, int Bucket)> Model) Sealed(int seed)
    {
        var random = new Random(seed);
        var segment = new PointSegment(Spaces);
        using (var keyword = JsonDocument.Parse("\"keyword\""))
            segment.Indexes.Create("tenant", keyword.RootElement, segment);
        using (var integer = JsonDocument.Parse("\"integer\""))
            segment.Indexes.Create("bucket", integer.RootElement, segment);
        var model = new Dictionary<ulong, (float[], int, int)>();
        for (ulong id = 0; id < Tenants * PerTenant; id++)
        {
            // Tenants interleave and share one distribution: a tenant's points are scattered among the others'.
            var vector = Enumerable.Range(0, Dim).Select(_ => (float)random.NextDouble()).ToArray();
            var tenant = (int)(id % Tenants);
            var bucket = (int)(id / Tenants % 3);
            model[id] = (vector, tenant, bucket);
            var payload = Payload.FromUtf8(Encoding.UTF8.GetBytes($$"""{"tenant":"t{{tenant}}","bucket":{{bucket}}}"""));
            segment.Upsert(PointId.FromNumber(id), 1, [new NamedVector("v", vector)], payload);
        }

        segment.Seal();
        return (segment, model);
    }

    private static PayloadGraphSet Build(PointSegment segment) => segment.BuildPayloadGraphs(0, segment.PayloadBlocks(0, 100), Options, default);

    private static List<ulong> BruteForce(Dictionary<ulong, (float[] Vector, int Tenant, int Bucket)> model, float[] query, Func<(float[] Vector, int Tenant, int Bucket), bool> match) =>
        [.. model.Where(p => match(p.Value)).OrderBy(p => p.Value.Vector.Zip(query, (a, b) => (double)(a - b) * (a - b)).Sum()).ThenBy(p => p.Key).Take(10).Select(p => p.Key)];

    [Fact]
    public void Filters_on_a_value_walk_its_graph_and_match_brute_force()
    {
        var (segment, model) = Sealed(7);
        Assert.Null(segment.Graph(0));
        var graphs = Build(segment);
        // Four tenants (600 points each) and three buckets (800 each).
        Assert.Equal(Tenants + 3, graphs.Count);
        segment.AttachPayloadGraphs(0, graphs);

        var random = new Random(11);
        var hits = 0;
        var total = 0;
        for (var q = 0; q < 40; q++)
        {
            var query = Enumerable.Range(0, Dim).Select(_ => (float)random.NextDouble()).ToArray();
            var tenant = q % Tenants;
            var filter = TestPoint.ParseFilter($$$"""{"must":[{"key":"tenant","match":{"value":"t{{{tenant}}}"}}]}""");
            var found = segment.Search(0, query, filter, 10, null, Graph, default).Select(h => segment.IdAt(h.Id).Number).ToList();
            Assert.All(found, id => Assert.Equal(tenant, model[id].Tenant));
            var expected = BruteForce(model, query, p => p.Tenant == tenant);
            hits += found.Intersect(expected).Count();
            total += expected.Count;
        }

        Assert.Equal(40, segment.PayloadGraphSearches);
        Assert.True(hits >= total * 0.97, $"recall {(double)hits / total:F3}");
    }

    [Fact]
    public void A_conjunction_walks_the_smaller_value_graph_and_checks_every_condition()
    {
        var (segment, model) = Sealed(8);
        segment.AttachPayloadGraphs(0, Build(segment));
        var random = new Random(12);
        var hits = 0;
        for (var q = 0; q < 20; q++)
        {
            var query = Enumerable.Range(0, Dim).Select(_ => (float)random.NextDouble()).ToArray();
            var filter = TestPoint.ParseFilter("""{"must":[{"key":"bucket","match":{"value":1}},{"key":"tenant","match":{"value":"t2"}}]}""");
            var found = segment.Search(0, query, filter, 10, null, Graph, default).Select(h => segment.IdAt(h.Id).Number).ToList();
            Assert.All(found, id => Assert.True(model[id].Tenant == 2 && model[id].Bucket == 1));
            hits += found.Intersect(BruteForce(model, query, p => p.Tenant == 2 && p.Bucket == 1)).Count();
        }

        Assert.Equal(20, segment.PayloadGraphSearches);
        Assert.True(hits >= 200 * 0.9, $"recall {hits / 200.0:F3}");
    }

    [Fact]
    public void Deleted_points_are_never_returned_and_few_matches_scan_exactly()
    {
        var (segment, model) = Sealed(9);
        segment.AttachPayloadGraphs(0, Build(segment));
        var deleted = model.Keys.Where(id => model[id].Tenant == 1 && id % 3 == 0).ToHashSet();
        foreach (var id in deleted)
            Assert.True(segment.Delete(PointId.FromNumber(id), 2));
        var random = new Random(13);
        var filter = TestPoint.ParseFilter("""{"must":[{"key":"tenant","match":{"value":"t1"}}]}""");
        for (var q = 0; q < 20; q++)
        {
            var query = Enumerable.Range(0, Dim).Select(_ => (float)random.NextDouble()).ToArray();
            var found = segment.Search(0, query, filter, 10, null, Graph, default).Select(h => segment.IdAt(h.Id).Number).ToList();
            Assert.Equal(10, found.Count);
            Assert.DoesNotContain(found, deleted.Contains);
        }

        // Fewer matches than the full-scan threshold: an exact scan, not the graph.
        var before = segment.PayloadGraphSearches;
        var query2 = Enumerable.Range(0, Dim).Select(_ => (float)random.NextDouble()).ToArray();
        var exact = segment.Search(0, query2, filter, 10, null, new SegmentSearchParams(64, false, 10_000), default).Select(h => segment.IdAt(h.Id).Number);
        Assert.Equal(before, segment.PayloadGraphSearches);
        var live = model.Where(p => !deleted.Contains(p.Key)).ToDictionary();
        Assert.Equal(BruteForce(live, query2, p => p.Tenant == 1), exact);
    }

    [Fact]
    public void Payload_graphs_round_trip_and_damaged_data_is_rejected()
    {
        var (segment, _) = Sealed(10);
        var graphs = Build(segment);
        using var stream = new MemoryStream();
        graphs.WriteTo(stream);
        var bytes = stream.ToArray();
        var read = PayloadGraphSet.ReadFrom(new MemoryStream(bytes), segment.UsedSlots, Dim);
        Assert.Equal(graphs.Count, read.Count);
        Assert.Equal(graphs.MemoryBytes, read.MemoryBytes);

        var random = new Random(14);
        var filter = TestPoint.ParseFilter("""{"must":[{"key":"tenant","match":{"value":"t3"}}]}""");
        var queries = Enumerable.Range(0, 10).Select(_ => Enumerable.Range(0, Dim).Select(_ => (float)random.NextDouble()).ToArray()).ToList();
        segment.AttachPayloadGraphs(0, graphs);
        var before = queries.Select(q => segment.Search(0, q, filter, 10, null, Graph, default)).ToList();
        segment.AttachPayloadGraphs(0, read);
        var after = queries.Select(q => segment.Search(0, q, filter, 10, null, Graph, default)).ToList();
        Assert.Equal(before.SelectMany(h => h), after.SelectMany(h => h));

        Assert.Throws<InvalidDataException>(() => PayloadGraphSet.ReadFrom(new MemoryStream(bytes[..(bytes.Length / 2)]), segment.UsedSlots, Dim));
        // A set written for a bigger segment names rows this one lacks.
        Assert.Throws<InvalidDataException>(() => PayloadGraphSet.ReadFrom(new MemoryStream(bytes), 100, Dim));
        Assert.Throws<InvalidOperationException>(() => new PointSegment(Spaces).PayloadBlocks(0, 100));
        Assert.Throws<ArgumentException>(() => new RowSubset([3, 2]));
        Assert.Throws<ArgumentException>(() => new RowSubset([-1, 2]));
        // A block naming rows past the segment is refused before anything is read.
        Assert.Throws<ArgumentException>(() => segment.BuildPayloadGraphs(0, [new PayloadBlock("x", new RowSubset([1, segment.UsedSlots]))], Options, default));
    }

    [Fact]
    public void A_subset_search_refuses_rows_past_the_vectors()
    {
        var vectors = new float[10 * Dim];
        var graph = HnswGraph.Build<Kernels.NegSquaredL2Kernel>(vectors, Dim, 3, Options);
        var results = new Kernels.ScoredId[3];
        Assert.Throws<ArgumentException>(() => graph.SearchSubset<Kernels.NegSquaredL2Kernel>(new float[Dim], vectors, new RowSubset([0, 5, 10]), 3, 8, null, results));
        Assert.Equal(3, graph.SearchSubset<Kernels.NegSquaredL2Kernel>(new float[Dim], vectors, new RowSubset([0, 5, 9]), 3, 8, null, results));
        Assert.Equal([0, 5, 9], results.Select(r => r.Id).Order());
    }
}
