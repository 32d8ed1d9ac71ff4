using Quiver.Segment.Filtering;
using Quiver.Segment.Segments;

namespace Quiver.Engine.Query;

/// <summary>
/// One stage of a universal query (<c>points/query</c>): its prefetches run first, and its query ranks what they
/// found; without prefetches the query searches the collection. <see cref="Filter"/> applies to this stage and to
/// every stage below it (a prefetch's own filter is added to it), so an outer stage only ever ranks points that
/// pass its filter.
/// </summary>
public sealed record QueryStage(
    IReadOnlyList<QueryStage> Prefetch,
    StageQuery? Query,
    string Using,
    Filter? Filter,
    int Limit,
    float? ScoreThreshold,
    bool Exact = false,
    int? HnswEf = null,
    bool IndexedOnly = false,
    QuantizationSearch Quantization = default);

/// <summary>What a stage ranks by.</summary>
public abstract record StageQuery;

/// <summary>Nearest to a vector (or a point's stored vector): a search, or over prefetched points an exact rescoring.</summary>
public sealed record NearestStage(NearestQuery Nearest) : StageQuery;

/// <summary>
/// Combines the prefetches' results: <see cref="FusionKind.Rrf"/> by rank (<paramref name="K"/>, optional
/// <paramref name="Weights"/> per prefetch), <see cref="FusionKind.Dbsf"/> by scores normalised per prefetch.
/// </summary>
public sealed record FusionStage(FusionKind Kind, int K = Fusion.DefaultRrfK, IReadOnlyList<float>? Weights = null) : StageQuery;

public enum FusionKind
{
    Rrf,
    Dbsf,
}

/// <summary>
/// Points like the <paramref name="Positive"/> examples and unlike the <paramref name="Negative"/> ones (vectors, or
/// points whose stored vectors are used; example points are never returned).
/// </summary>
public sealed record RecommendStage(IReadOnlyList<NearestQuery> Positive, IReadOnlyList<NearestQuery> Negative, RecommendStrategy Strategy) : StageQuery;

/// <summary>Qdrant's recommendation strategies.</summary>
public enum RecommendStrategy
{
    /// <summary>One search with <c>avg(positive) + avg(positive) - avg(negative)</c> (without negatives, the average).</summary>
    AverageVector,

    /// <summary>Each point scores its best positive similarity, or minus the square of its best negative one when that is higher.</summary>
    BestScore,

    /// <summary>Each point scores the sum of its positive similarities less the sum of its negative ones.</summary>
    SumScores,
}
