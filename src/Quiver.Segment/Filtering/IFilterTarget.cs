using Quiver.Segment.Payloads;
using Quiver.Segment.Points;

namespace Quiver.Segment.Filtering;

/// <summary>What a filter is evaluated against: one point of a segment.</summary>
public interface IFilterTarget
{
    PointId Id { get; }

    Payload Payload { get; }

    bool HasVector(string name);
}
