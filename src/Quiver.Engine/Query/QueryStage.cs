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

/// <summary>
/// Nearest to a vector (or a point's stored vector): a search, or over prefetched points an exact rescoring. With
/// <paramref name="Mmr"/>, the nearest candidates are then picked for diversity too.
/// </summary>
public sealed record NearestStage(NearestQuery Nearest, Mmr? Mmr = null) : StageQuery;

/// <summary>
/// Maximal marginal relevance (Carbonell and Goldstein, 1998): from the <paramref name="CandidatesLimit"/> nearest
/// (default: the stage's limit), points are picked one at a time by <c>λ·relevance - (1-λ)·(highest similarity to a
/// point already picked)</c>, where λ is 1 - <paramref name="Diversity"/>. Picked points keep their relevance as score.
/// </summary>
public sealed record Mmr(float Diversity = 0.5f, int? CandidatesLimit = null);

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

/// <summary>
/// Discovery (Qdrant's <c>discover</c>): points ranked first by how many <paramref name="Context"/> pairs they are
/// on the positive side of (each pair adds 1 or -1), then by closeness to <paramref name="Target"/> squashed into
/// (0, 1) and added.
/// </summary>
public sealed record DiscoverStage(NearestQuery Target, IReadOnlyList<ContextPair> Context) : StageQuery;

/// <summary>
/// Context search (Qdrant's <c>context</c>): no target; each pair adds <c>s(min(sim(positive) - sim(negative) - ε, 0))</c>
/// with <c>s(x) = x / (1 + |x|)</c>, so a point on the positive side of every pair scores 0 and others less.
/// </summary>
public sealed record ContextStage(IReadOnlyList<ContextPair> Pairs) : StageQuery;

/// <summary>One positive/negative pair of examples (vectors or points).</summary>
public sealed record ContextPair(NearestQuery Positive, NearestQuery Negative);

/// <summary>Points ordered by a payload key (<c>{"order_by": ...}</c>) instead of a score; each scores 0.</summary>
public sealed record OrderByStage(OrderBy OrderBy) : StageQuery;

/// <summary>Points picked at random (<c>{"sample": "random"}</c>), each with score 0.</summary>
public sealed record SampleStage : StageQuery;

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
