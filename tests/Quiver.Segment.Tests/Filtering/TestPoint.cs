using System.Text;
using System.Text.Json;
using Quiver.Segment.Filtering;
using Quiver.Segment.Payloads;
using Quiver.Segment.Points;

namespace Quiver.Segment.Tests.Filtering;

internal sealed class TestPoint(ulong id, string payloadJson, params string[] vectors) : IFilterTarget
{
    public PointId Id { get; } = PointId.FromNumber(id);

    public Payload Payload { get; } = Payload.FromUtf8(Encoding.UTF8.GetBytes(payloadJson));

    public bool HasVector(string name) => vectors.Contains(name);

    public static Filter ParseFilter(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return FilterParser.Parse(doc.RootElement.Clone());
    }

    public static bool Matches(string filterJson, string payloadJson, IFilterContext? context = null) =>
        FilterEvaluator.Matches(ParseFilter(filterJson), new TestPoint(1, payloadJson), context);
}
