using Quiver.Segment.Filtering;
using Quiver.Segment.Points;
using Quiver.Segment.Segments;

namespace Quiver.Engine.Query;

/// <summary>
/// What a nearest-neighbour query searches with: a dense vector, a sparse vector (for a sparse vector space), a
/// multivector (for a multivector space), or the stored vector of a point.
/// </summary>
public sealed record NearestQuery(float[]? Vector, PointId? PointId, SparseVector? Sparse = null, MultiVector? Multi = null);

public sealed record SearchRequest(
    NearestQuery Query,
    string Using,
    Filter? Filter,
    int Limit,
    int Offset,
    float? ScoreThreshold,
    WithPayload WithPayload,
    WithVector WithVector,
    bool Exact,
    int? HnswEf = null,
    bool IndexedOnly = false,
    QuantizationSearch Quantization = default);

public sealed record OrderBy(string Key, bool Descending, double? StartFrom);

public sealed record ScrollRequest(
    Filter? Filter,
    PointId? Offset,
    int Limit,
    OrderBy? OrderBy,
    WithPayload WithPayload,
    WithVector WithVector);
