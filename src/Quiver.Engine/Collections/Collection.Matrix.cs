using Quiver.Engine.Query;
using Quiver.Segment.Errors;
using Quiver.Segment.Filtering;
using Quiver.Segment.Points;

namespace Quiver.Engine.Collections;

/// <summary>The distance matrix of a random sample (<c>points/search/matrix</c>): each sampled point's nearest others in it.</summary>
public sealed record SearchMatrix(IReadOnlyList<PointId> Ids, IReadOnlyList<(int Row, int Column, float Score)> Entries);

public sealed partial class Collection
{
    /// <summary>Most points a matrix request may sample (its cost grows with the square).</summary>
    public const int MaxMatrixSample = 10_000;

    /// <summary>
    /// Samples up to <paramref name="sample"/> points passing <paramref name="filter"/> that have a vector in
    /// <paramref name="vectorName"/> and, for each, finds its <paramref name="limit"/> nearest among the others in the
    /// sample (exactly). Ids come in sample order; entries by row, then by score (the API's, best first).
    /// </summary>
    public SearchMatrix Matrix(Filter? filter, int sample, int limit, string vectorName, CancellationToken cancellationToken)
    {
        var space = DenseSpace(vectorName, "search matrix");
        if (sample < 2 || sample > MaxMatrixSample)
            throw QuiverException.BadInput($"sample: expected an integer from 2 to {MaxMatrixSample}");
        if (limit < 1 || limit > MaxLimit)
            throw QuiverException.BadInput($"limit: expected an integer from 1 to {MaxLimit}");

        var matching = new List<PointId>();
        PointId? from = null;
        do
        {
            cancellationToken.ThrowIfCancellationRequested();
            var page = Scroll(new ScrollRequest(Both(filter, new Filter(must: [new HasVectorCondition(vectorName)])), from, MaxLimit, null, WithPayload.None, WithVector.None));
            matching.AddRange(page.Points.Select(p => p.Id));
            from = page.NextPageOffset;
        }
        while (from is not null);

        // As in Qdrant: the sample in id order, and nothing to pair below two points.
        var picked = Sample(matching, sample).Select(p => p.Id).Order().ToList();
        var rows = StoredVectors(picked, space);
        if (rows.Count < 2)
            return new SearchMatrix([], []);
        var entries = new List<(int, int, float)>();
        var scores = new List<(int Column, float Score)>(rows.Count);
        for (var i = 0; i < rows.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            scores.Clear();
            for (var j = 0; j < rows.Count; j++)
            {
                if (j != i)
                    scores.Add((j, Similarity(space.Distance, rows[i].Vector, rows[j].Vector)));
            }

            scores.Sort((a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : rows[a.Column].Id.CompareTo(rows[b.Column].Id));
            foreach (var (column, score) in scores.Take(limit))
                entries.Add((i, column, space.Distance.ToExternal(score)));
        }

        return new SearchMatrix([.. rows.Select(r => r.Id)], entries);
    }
}
