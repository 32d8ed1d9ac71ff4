using System.Text.Json;
using Quiver.Engine.Query;
using Quiver.Segment.Errors;
using Quiver.Segment.Filtering;
using Quiver.Segment.Payloads;

namespace Quiver.Engine.Collections;

/// <summary>One group of a grouped query: the points sharing a value of the group_by key, best first.</summary>
public sealed record PointGroup(JsonElement Id, IReadOnlyList<ScoredRecord> Hits);

public sealed partial class Collection
{
    /// <summary>
    /// A universal query whose results are grouped by a payload key (<c>points/query/groups</c>): the first
    /// <c>root.Limit</c> distinct values met in score order, each with up to <paramref name="groupSize"/> of its best
    /// points. A point whose key holds several values (an array) joins each of their groups; points without a
    /// keyword or integer value at the key are skipped. The query is asked for more results until every group is
    /// full or the collection has no more.
    /// </summary>
    public IReadOnlyList<PointGroup> QueryGroups(QueryStage root, string groupBy, int groupSize, WithPayload withPayload, WithVector withVector, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(root);
        var path = JsonPath.Parse(groupBy, "group_by");
        if (groupSize < 1 || groupSize > MaxLimit)
            throw QuiverException.BadInput($"group_size: expected an integer from 1 to {MaxLimit}");
        if (root.Limit < 1 || root.Limit > MaxLimit)
            throw QuiverException.BadInput($"limit: expected an integer from 1 to {MaxLimit}");

        // Points without the key can join no group: leave them out of every stage, as Qdrant does.
        root = root with { Filter = Both(root.Filter, new Filter(mustNot: [new IsEmptyCondition(path)])) };
        var fetch = (int)Math.Min(MaxLimit, Math.Max(16L, 2L * root.Limit * groupSize));
        while (true)
        {
            var hits = Query(root with { Limit = fetch }, 0, WithPayload.All, withVector, cancellationToken);
            var groups = Group(hits, path, root.Limit, groupSize);
            var full = groups.Count == root.Limit && groups.All(g => g.Hits.Count == groupSize);
            if (full || hits.Count < fetch || fetch == MaxLimit)
            {
                return [.. groups.Select(g => new PointGroup(g.Id, [.. g.Hits.Select(h => h with
                {
                    Payload = withPayload.Enabled && h.Payload is { } payload ? PayloadProjection.Apply(payload, withPayload) : null,
                })]))];
            }

            fetch = (int)Math.Min(MaxLimit, fetch * 4L);
        }
    }

    private static List<(JsonElement Id, List<ScoredRecord> Hits)> Group(IReadOnlyList<ScoredRecord> hits, JsonPath path, int limit, int groupSize)
    {
        var groups = new List<(JsonElement Id, List<ScoredRecord> Hits)>();
        var byValue = new Dictionary<string, int>(StringComparer.Ordinal);
        var values = new List<JsonElement>();
        foreach (var hit in hits)
        {
            values.Clear();
            if (hit.Payload is { } payload)
                path.Collect(payload.Root, values);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var value in values)
            {
                // Qdrant groups by keyword and integer values only.
                if (value.ValueKind is not (JsonValueKind.String or JsonValueKind.Number) || (value.ValueKind == JsonValueKind.Number && !value.TryGetInt64(out _)))
                    continue;
                var key = value.GetRawText();
                if (!seen.Add(key))
                    continue;
                if (byValue.TryGetValue(key, out var at))
                {
                    if (groups[at].Hits.Count < groupSize)
                        groups[at].Hits.Add(hit);
                }
                else if (groups.Count < limit)
                {
                    byValue[key] = groups.Count;
                    groups.Add((value.Clone(), [hit]));
                }
            }
        }

        return groups;
    }
}
