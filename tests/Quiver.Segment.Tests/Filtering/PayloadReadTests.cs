using System.Text.Json;
using Quiver.Segment.Filtering;
using Quiver.Segment.Payloads;
using Quiver.Segment.Points;

namespace Quiver.Segment.Tests.Filtering;

/// <summary>
/// A filter reads a point's payload only when a condition needs it: a payload may be read from disk
/// (on_disk_payload), so a filter on ids or vectors alone must not pay for it.
/// </summary>
public sealed class PayloadReadTests
{
    /// <summary>A point whose payload cannot be read: any attempt fails the test.</summary>
    private sealed class PayloadlessPoint(ulong id) : IFilterTarget
    {
        public PointId Id { get; } = PointId.FromNumber(id);

        public Payload Payload => throw new InvalidOperationException("the payload was read");

        public bool HasVector(string name) => name == "v";
    }

    private static Filter Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return FilterParser.Parse(doc.RootElement);
    }

    [Theory]
    [InlineData("""{"must":[{"has_id":[1,2]}]}""", true)]
    [InlineData("""{"must":[{"has_id":[3]}]}""", false)]
    [InlineData("""{"must_not":[{"has_id":[3]}],"should":[{"has_vector":"v"},{"has_id":[9]}]}""", true)]
    [InlineData("""{"must":[{"must":[{"has_vector":"w"}]}]}""", false)]
    [InlineData("""{}""", true)]
    public void Filters_on_ids_and_vectors_alone_never_read_the_payload(string filter, bool expected) =>
        Assert.Equal(expected, Parse(filter).Compile(null).Matches(new PayloadlessPoint(1)));

    [Theory]
    [InlineData("""{"must":[{"has_id":[1]},{"key":"a","match":{"value":1}}]}""")]
    [InlineData("""{"should":[{"has_vector":"v"},{"is_empty":{"key":"a"}}]}""")]
    [InlineData("""{"must":[{"must_not":[{"key":"a","range":{"gt":0}}]}]}""")]
    public void A_filter_with_any_payload_condition_reads_it(string filter) =>
        Assert.Throws<InvalidOperationException>(() => Parse(filter).Compile(null).Matches(new PayloadlessPoint(1)));
}
