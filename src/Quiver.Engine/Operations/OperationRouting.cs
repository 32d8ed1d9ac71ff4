using System.Text.Json.Nodes;
using Quiver.Segment.Points;

namespace Quiver.Engine.Operations;

/// <summary>
/// Which shards an operation touches: operations on listed points are split by each point's shard; filtered and
/// payload-index operations go to every shard. The same rule routes client writes and resharding's copies.
/// </summary>
public static class OperationRouting
{
    /// <summary>The operation's parts, each with the shard (of <paramref name="shards"/>) it goes to.</summary>
    public static (int Shard, PointOperation Operation)[] Split(PointOperation operation, int shards)
    {
        ArgumentNullException.ThrowIfNull(operation);
        if (shards == 1)
            return [(0, operation)];
        return operation switch
        {
            UpsertPoints u => Parts(u.Points, p => p.Id, shards, part => new UpsertPoints(part)),
            UpdateVectors v => Parts(v.Points, p => p.Id, shards, part => new UpdateVectors(part)),
            DeletePoints { Selector.Ids: { } ids } d => Parts(ids, id => id, shards, part => d with { Selector = PointSelector.ByIds(part) }),
            SetPayload { Selector.Ids: { } ids } s => Parts(ids, id => id, shards, part => s with { Selector = PointSelector.ByIds(part) }),
            OverwritePayload { Selector.Ids: { } ids } o => Parts(ids, id => id, shards, part => o with { Selector = PointSelector.ByIds(part) }),
            DeletePayloadKeys { Selector.Ids: { } ids } k => Parts(ids, id => id, shards, part => k with { Selector = PointSelector.ByIds(part) }),
            ClearPayload { Selector.Ids: { } ids } c => Parts(ids, id => id, shards, part => c with { Selector = PointSelector.ByIds(part) }),
            DeleteVectors { Selector.Ids: { } ids } dv => Parts(ids, id => id, shards, part => dv with { Selector = PointSelector.ByIds(part) }),
            _ => [.. Enumerable.Range(0, shards).Select(i => (i, operation))],
        };
    }

    /// <summary>
    /// Resharding: an operation read from old shard <paramref name="oldShard"/> of <paramref name="oldShards"/>, to be
    /// copied into the new shards. A filtered operation there touched only that old shard's points, in the order of
    /// that log; copied to every new shard it must still touch only those (the other old shards' copies of it are
    /// ordered within their own logs), so its filter gains the condition "lives in old shard s".
    /// </summary>
    public static PointOperation ForCopyFrom(PointOperation operation, int oldShards, int oldShard)
    {
        ArgumentNullException.ThrowIfNull(operation);
        return operation switch
        {
            DeletePoints { Selector.Filter: { } f } d => d with { Selector = PointSelector.ByFilter(Restrict(f, oldShards, oldShard)) },
            SetPayload { Selector.Filter: { } f } s => s with { Selector = PointSelector.ByFilter(Restrict(f, oldShards, oldShard)) },
            OverwritePayload { Selector.Filter: { } f } o => o with { Selector = PointSelector.ByFilter(Restrict(f, oldShards, oldShard)) },
            DeletePayloadKeys { Selector.Filter: { } f } k => k with { Selector = PointSelector.ByFilter(Restrict(f, oldShards, oldShard)) },
            ClearPayload { Selector.Filter: { } f } c => c with { Selector = PointSelector.ByFilter(Restrict(f, oldShards, oldShard)) },
            DeleteVectors { Selector.Filter: { } f } dv => dv with { Selector = PointSelector.ByFilter(Restrict(f, oldShards, oldShard)) },
            _ => operation,
        };
    }

    /// <summary>Adds the condition to the filter's own <c>must</c> list (not a level deeper: a filter near the depth limit stays parseable after any number of reshardings).</summary>
    private static FilterSpec Restrict(FilterSpec filter, int shards, int shard)
    {
        var restricted = JsonNode.Parse(filter.Json)!.AsObject();
        var condition = new JsonObject { ["quiver_shard_of"] = new JsonObject { ["shard_number"] = shards, ["shard"] = shard } };
        switch (restricted["must"])
        {
            case JsonArray must:
                must.Add(condition);
                break;
            case JsonObject single:
                // Qdrant also takes a single condition for must.
                restricted["must"] = new JsonArray(single.DeepClone(), condition);
                break;
            default:
                restricted["must"] = new JsonArray(condition);
                break;
        }

        return new FilterSpec(System.Text.Encoding.UTF8.GetBytes(restricted.ToJsonString()));
    }

    private static (int, PointOperation)[] Parts<T>(IReadOnlyList<T> items, Func<T, PointId> idOf, int shards, Func<T[], PointOperation> make)
    {
        var parts = new List<T>?[shards];
        foreach (var item in items)
            (parts[idOf(item).ShardIn(shards)] ??= []).Add(item);
        var result = new List<(int, PointOperation)>();
        for (var i = 0; i < parts.Length; i++)
        {
            if (parts[i] is { } part)
                result.Add((i, make([.. part])));
        }

        return [.. result];
    }
}
