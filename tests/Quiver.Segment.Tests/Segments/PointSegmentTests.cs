using Quiver.Segment.Filtering;
using Quiver.Segment.Payloads;
using Quiver.Segment.Points;
using Quiver.Segment.Segments;

namespace Quiver.Segment.Tests.Segments;

public sealed class PointSegmentTests
{
    private static readonly SegmentVectorSpace[] Spaces = [new("a", 2, VectorMetric.Dot), new("b", 3, VectorMetric.NegSquaredL2)];

    private static Payload Json(string json) => Payload.FromUtf8(System.Text.Encoding.UTF8.GetBytes(json));

    private static PointId Id(ulong n) => PointId.FromNumber(n);

    [Fact]
    public void Versions_make_replays_no_ops()
    {
        var s = new PointSegment(Spaces, initialCapacity: 1);
        Assert.True(s.Upsert(Id(1), 5, [new NamedVector("a", [1, 0])], Json("""{"x":1}""")));
        Assert.False(s.Upsert(Id(1), 5, [new NamedVector("a", [0, 1])], Json("""{"x":2}""")));
        Assert.False(s.Upsert(Id(1), 4, [new NamedVector("a", [0, 1])], Json("""{"x":2}""")));
        Assert.False(s.Delete(Id(1), 5));
        Assert.True(s.TryGetOffset(Id(1), out var offset));
        Assert.Equal([1f, 0f], s.VectorAt(offset, 0).ToArray());
        Assert.Equal(5UL, s.VersionAt(offset));
        Assert.True(s.Delete(Id(1), 6));
        Assert.Equal(0, s.LiveCount);
    }

    [Fact]
    public void Bad_vectors_change_nothing()
    {
        var s = new PointSegment(Spaces);
        s.Upsert(Id(1), 1, [new NamedVector("a", [1, 0])], Json("""{"x":1}"""));
        Assert.Throws<ArgumentException>(() => s.Upsert(Id(2), 2, [new NamedVector("a", [1, 0]), new NamedVector("nope", [1])], Payload.Empty));
        Assert.Throws<ArgumentException>(() => s.Upsert(Id(1), 3, [new NamedVector("b", [1, 0])], Payload.Empty));
        Assert.Throws<ArgumentException>(() => s.UpdateVectors(Id(1), 4, [new NamedVector("a", [1, 0, 0])]));
        Assert.Equal(1, s.LiveCount);
        Assert.False(s.TryGetOffset(Id(2), out _));
        Assert.True(s.TryGetOffset(Id(1), out var offset));
        Assert.Equal(1UL, s.VersionAt(offset));
        Assert.Equal("""{"x":1}""", System.Text.Encoding.UTF8.GetString(s.PayloadAt(offset).Utf8));
    }

    [Fact]
    public void Search_scores_filters_and_reuses_freed_slots()
    {
        var s = new PointSegment(Spaces, initialCapacity: 2);
        for (ulong i = 1; i <= 10; i++)
            s.Upsert(Id(i), i, [new NamedVector("a", [i, 1]), new NamedVector("b", [i, 0, 0])], Json($$"""{"even":{{(i % 2 == 0 ? "true" : "false")}}}"""));
        s.Delete(Id(10), 11);
        s.Upsert(Id(11), 12, [new NamedVector("a", [0.5f, 1])], Payload.Empty); // reuses 10's slot, no "b" vector

        var dot = s.Search(0, [1, 0], null, 3, null, SegmentSearchParams.ExactScan, default);
        Assert.Equal([9UL, 8UL, 7UL], dot.Select(h => s.IdAt(h.Id).Number));
        Assert.Equal([9f, 8f, 7f], dot.Select(h => h.Score));

        var l2 = s.Search(1, [3.2f, 0, 0], null, 2, null, SegmentSearchParams.ExactScan, default);
        Assert.Equal([3UL, 4UL], l2.Select(h => s.IdAt(h.Id).Number));
        Assert.Equal(-0.04f, l2[0].Score, 5);

        using var doc = System.Text.Json.JsonDocument.Parse("""{"must":[{"key":"even","match":{"value":true}}]}""");
        var filter = FilterParser.Parse(doc.RootElement);
        var even = s.Search(0, [1, 0], filter, 10, 5.5f, SegmentSearchParams.ExactScan, default);
        Assert.Equal([8UL, 6UL], even.Select(h => s.IdAt(h.Id).Number));
        Assert.Equal(4, s.Count(filter)); // 2, 4, 6, 8 (10 was deleted)
        Assert.Equal([1UL, 2UL, 3UL], s.ScrollIds(null, null, 3).Select(i => i.Number));
        Assert.Equal([9UL, 11UL], s.ScrollIds(null, Id(9), 5).Select(i => i.Number));
    }
}
