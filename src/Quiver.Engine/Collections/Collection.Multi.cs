using Quiver.Engine.Query;
using Quiver.Segment.Errors;
using Quiver.Segment.Points;
using Quiver.Segment.Segments;

namespace Quiver.Engine.Collections;

/// <summary>
/// Multivector spaces (ColBERT-style late interaction): a point holds several vectors and scores max_sim against a
/// multivector query, the sum over query vectors of each one's best similarity (dot product, on vectors normalised
/// at insert for Cosine; minus the squared or absolute distance for Euclid and Manhattan), reported as Qdrant does
/// (for Euclid the square root of the summed squared distances, for Manhattan the summed distance). Searched
/// exactly; most useful to rescore prefetched candidates.
/// </summary>
public sealed partial class Collection
{
    private QuiverException MultiQueryOnSingle(string name) => Config.FindSpace(name) is null && Config.FindSparse(name) is null
        ? MissingVectorName(name)
        : QuiverException.BadInput($"Wrong input: {(name.Length == 0 ? "the unnamed vector" : name)} holds one vector per point; a multivector query needs a multivector in `using`");

    /// <summary>Checks a stored multivector against its space; for Cosine each of its vectors is normalised.</summary>
    private static NamedVector PrepareMulti(NamedVector vector, VectorSpace space, string field)
    {
        if (vector.Multi is not { } multi)
        {
            throw QuiverException.BadInput(vector.IsSparse
                ? $"Wrong input: {field}: {space.Name} is a multivector; a sparse vector was given"
                : $"Wrong input: {field}: {(space.Name.Length == 0 ? "the vector" : space.Name)} is a multivector: give a list of vectors");
        }

        return NamedVector.OfMulti(vector.Name, Normalised(space, multi, field));
    }

    private static MultiVector Normalised(VectorSpace space, MultiVector multi, string field)
    {
        if (multi.Dimension != space.Dimension)
            throw DimensionError(space.Dimension, multi.Dimension);
        if (!Quiver.Kernels.VectorMath.AllFinite(multi.Values))
            throw QuiverException.BadInput($"{field}: vector contains NaN or Infinity");
        if (space.Distance != Distance.Cosine)
            return multi;
        var values = (float[])multi.Values.Clone();
        for (var i = 0; i < multi.Count; i++)
            Quiver.Kernels.VectorMath.Normalize(values.AsSpan(i * multi.Dimension, multi.Dimension));
        return MultiVector.FromFlat(values, multi.Dimension);
    }

    private ScoredRecord[] SearchMulti(SearchRequest request, VectorSpace space, CancellationToken cancellationToken)
    {
        var (query, exclude) = MultiQueryOf(request.Query, space);
        var metric = space.Distance.ToMetric();
        return ScoreSegments(request, exclude, space.Distance, (segment, want, hits) => segment.SearchMulti(space.Name, query, metric, request.Filter, want, hits, cancellationToken), cancellationToken);
    }

    /// <summary>Prefetched points rescored by max_sim; points without a multivector in the space drop out.</summary>
    private StageResult RescoreMulti(VectorSpace space, NearestQuery nearest, List<PointId> candidates)
    {
        var (query, exclude) = MultiQueryOf(nearest, space);
        if (exclude is { } named)
            candidates.Remove(named);
        var metric = space.Distance.ToMetric();
        var scored = new List<RankedPoint>(candidates.Count);
        foreach (var group in candidates.GroupBy(ShardOf))
        {
            if (ReadReplica(group.Key) is not { } shard)
                continue;
            using var view = shard.EnterRead();
            foreach (var id in group)
            {
                if (view.Set.TryLocate(id, out var segment, out var offset) && segment.MultiAt(offset, space.Name) is { } stored)
                    scored.Add(new RankedPoint(id, PointSegment.MaxSim(query, stored, metric)));
            }
        }

        scored.Sort((a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Id.CompareTo(b.Id));
        return new StageResult(scored, space.Distance);
    }

    /// <summary>The query's multivector: given (checked, normalised for Cosine), or a point's stored one (that point is then not returned).</summary>
    private (MultiVector Query, PointId? Exclude) MultiQueryOf(NearestQuery nearest, VectorSpace space)
    {
        if (nearest.Multi is { } given)
            return (Normalised(space, given, "query"), null);
        if (nearest.PointId is { } pointId)
        {
            using var view = ReplicaOfPoint(pointId).EnterRead();
            if (!view.Set.TryLocate(pointId, out var segment, out var offset))
                throw QuiverException.NotFound($"Not found: No point with id {pointId} found");
            return (segment.MultiAt(offset, space.Name) ?? throw QuiverException.BadInput($"Wrong input: point {pointId} has no vector named {space.Name}"), pointId);
        }

        throw QuiverException.BadInput($"Wrong input: {(space.Name.Length == 0 ? "the vector" : space.Name)} is a multivector: query it with a list of vectors");
    }
}
