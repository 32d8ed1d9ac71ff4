using Quiver.Engine.Query;
using Quiver.Segment.Filtering;
using Quiver.Segment.Points;

namespace Quiver.Engine.Collections;

public sealed partial class Collection
{
    /// <summary>
    /// Rescores the prefetched points by a formula: <c>$score[i]</c> is a point's score (the API's) in prefetch i,
    /// payload variables are read from its payload (or the defaults), conditions are checked against the collection's
    /// filters. Best first, ties by id.
    /// </summary>
    private StageResult FormulaRescore(FormulaStage formula, List<StageResult> children, CancellationToken cancellationToken)
    {
        var candidates = children.SelectMany(c => c.Points.Select(p => p.Id)).Distinct().ToList();
        var byPrefetch = children.Select(c => c.Points.GroupBy(p => p.Id).ToDictionary(g => g.Key, g => (double)c.External(g.First().Score))).ToList();
        var met = new List<HashSet<PointId>>(formula.Conditions.Count);
        var within = new HasIdCondition(candidates.ToHashSet());
        foreach (var condition in formula.Conditions)
        {
            var matching = new HashSet<PointId>();
            PointId? from = null;
            do
            {
                cancellationToken.ThrowIfCancellationRequested();
                var page = Scroll(new ScrollRequest(new Filter(must: [within, condition]), from, MaxLimit, null, WithPayload.None, WithVector.None));
                matching.UnionWith(page.Points.Select(p => p.Id));
                from = page.NextPageOffset;
            }
            while (from is not null);
            met.Add(matching);
        }

        var scored = new List<RankedPoint>(candidates.Count);
        var scores = new double?[byPrefetch.Count];
        var conditions = new bool[met.Count];
        foreach (var record in Get(candidates, WithPayload.All, WithVector.None))
        {
            for (var i = 0; i < scores.Length; i++)
                scores[i] = byPrefetch[i].TryGetValue(record.Id, out var s) ? s : null;
            for (var i = 0; i < conditions.Length; i++)
                conditions[i] = met[i].Contains(record.Id);
            var value = Formula.Evaluate(formula.Root, record.Payload!, scores, conditions, formula.Defaults);
            scored.Add(new RankedPoint(record.Id, (float)value));
        }

        scored.Sort((a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Id.CompareTo(b.Id));
        return new StageResult(scored, null);
    }
}
