using System.Text.Json;
using Quiver.Cluster;
using Quiver.Engine.Catalog;
using Quiver.Segment.Errors;
using Quiver.Server.Rest;

namespace Quiver.Server.Cluster;

/// <summary>
/// Qdrant's cluster endpoints (<c>GET /cluster</c>, <c>GET /collections/{name}/cluster</c>) and the internal wait a
/// writing node calls on the other replicas. Peer ids are numbers in Qdrant's API: a node's is a stable hash of its id.
/// </summary>
internal static class ClusterEndpoints
{
    public static void MapClusterEndpoints(this IEndpointRouteBuilder app, CollectionCatalog catalog, ClusterNode? node)
    {
        app.MapGet("/cluster", (HttpContext http) => RestHandler.RunAsync(http, false, _ => Done(w =>
        {
            w.WriteStartObject();
            if (node is null)
            {
                w.WriteString("status", "disabled");
                w.WriteEndObject();
                return;
            }

            var members = node.Members();
            w.WriteString("status", "enabled");
            w.WriteNumber("peer_id", PeerId(node.NodeId));
            w.WriteStartObject("peers");
            foreach (var member in members)
            {
                w.WriteStartObject(PeerId(member.NodeId).ToString(System.Globalization.CultureInfo.InvariantCulture));
                w.WriteString("uri", member.Url.ToString());
                w.WriteString("node_id", member.NodeId);
                w.WriteEndObject();
            }

            w.WriteEndObject();
            // JetStream's Raft replaces Qdrant's consensus: there is no term or commit of Quiver's own to report.
            w.WriteStartObject("raft_info");
            w.WriteNumber("term", 0);
            w.WriteNumber("commit", 0);
            w.WriteNumber("pending_operations", 0);
            w.WriteNull("leader");
            w.WriteNull("role");
            w.WriteBoolean("is_voter", false);
            w.WriteEndObject();
            w.WriteStartObject("consensus_thread_status");
            w.WriteString("consensus_thread_status", "working");
            w.WriteString("last_update", DateTimeOffset.UtcNow);
            w.WriteEndObject();
            w.WriteStartObject("message_send_failures");
            w.WriteEndObject();
            w.WriteEndObject();
        })));

        app.MapGet("/collections/{name}/cluster", (HttpContext http, string name) => RestHandler.RunAsync(http, false, _ =>
        {
            var collection = catalog.Get(name);
            var self = node is null ? 0 : PeerId(node.NodeId);
            var hosted = collection.HostedShards;
            var remote = node?.Members().Where(m => m.NodeId != node.NodeId).ToList() ?? [];
            return Done(w =>
            {
                w.WriteStartObject();
                w.WriteNumber("peer_id", self);
                w.WriteNumber("shard_count", collection.ShardNumber);
                w.WriteStartArray("local_shards");
                foreach (var shard in hosted)
                {
                    w.WriteStartObject();
                    w.WriteNumber("shard_id", shard);
                    w.WriteNumber("points_count", collection.View([shard]).Count(null));
                    w.WriteString("state", "Active");
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteStartArray("remote_shards");
                foreach (var member in remote)
                {
                    if (!member.Serving.TryGetValue(collection.Name, out var shards))
                        continue;
                    foreach (var shard in shards)
                    {
                        w.WriteStartObject();
                        w.WriteNumber("shard_id", shard);
                        w.WriteNumber("peer_id", PeerId(member.NodeId));
                        w.WriteString("state", "Active");
                        w.WriteEndObject();
                    }
                }

                w.WriteEndArray();
                w.WriteStartArray("shard_transfers");
                w.WriteEndArray();
                w.WriteEndObject();
            });
        }));

        app.MapDelete("/cluster/peer/{peer}", (HttpContext http, string peer) => RestHandler.RunAsync(http, false, async req =>
        {
            if (node is null)
                throw QuiverException.BadInput("Wrong input: cluster mode is off: there are no peers to remove");
            if (!ulong.TryParse(peer, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var peerId))
                throw QuiverException.BadInput($"Wrong input: `{peer}` is not a peer id (an unsigned integer, as GET /cluster lists them)");
            var member = node.Members().FirstOrDefault(m => PeerId(m.NodeId) == peerId)
                ?? throw QuiverException.NotFound($"Not found: peer {peerId} is not a member");
            await node.RemovePeerAsync(member.NodeId, req.QueryBool("force") ?? false, req.Cancellation).ConfigureAwait(false);
            return (Action<Utf8JsonWriter>)(w => w.WriteBooleanValue(true));
        }));

        app.MapPost("/collections/{name}/cluster", (HttpContext http, string name) => RestHandler.RunAsync(http, true, async req =>
        {
            var collection = catalog.Get(name);
            int shardNumber;
            if (RestReader.TryGet(req.Body, "reshard", out var reshard))
            {
                shardNumber = RestReader.Int(reshard, "shard_number", -1, 1, Engine.Collections.CollectionConfig.MaxShards, "reshard");
                if (shardNumber < 1)
                    throw QuiverException.BadInput("reshard.shard_number: required");
            }
            else if (RestReader.TryGet(req.Body, "start_resharding", out var start))
            {
                // Qdrant's form: one shard more or fewer.
                var direction = RestReader.String(RestReader.Required(start, "direction", "start_resharding"), "start_resharding.direction");
                shardNumber = direction switch
                {
                    "up" => collection.ShardNumber + 1,
                    "down" => collection.ShardNumber - 1,
                    _ => throw QuiverException.BadInput("start_resharding.direction: expected up or down"),
                };
            }
            else
            {
                var operation = req.Body.ValueKind == JsonValueKind.Object ? string.Join(", ", req.Body.EnumerateObject().Select(p => p.Name)) : "none";
                throw QuiverException.BadInput(
                    $"Wrong input: {operation}: Quiver places replicas itself (rendezvous hashing over the live nodes), so shard moves and replica changes are not operations here; available: reshard {{\"shard_number\": N}}, start_resharding");
            }

            if (node is null)
                throw QuiverException.BadInput("Wrong input: resharding needs cluster mode (quiver serve --cluster); on one node, create a collection with the shard_number wanted and copy the points");
            await node.ReshardAsync(collection.Name, shardNumber, req.Cancellation).ConfigureAwait(false);
            return (Action<Utf8JsonWriter>)(w => w.WriteBooleanValue(true));
        }));

        app.MapPost(ClusterNode.WaitPath, (HttpContext http) => RestHandler.RunAsync(http, true, async req =>
        {
            var collection = catalog.Get(RestReader.String(RestReader.Required(req.Body, "collection", string.Empty), "collection"));
            var shard = RestReader.Int(req.Body, "shard", -1, 0, collection.ShardNumber - 1);
            var sequence = RestReader.Required(req.Body, "sequence", string.Empty);
            if (sequence.ValueKind != JsonValueKind.Number || !sequence.TryGetUInt64(out var seq))
                throw QuiverException.BadInput("sequence: expected an unsigned integer");
            // Sequences belong to one incarnation's logs: for another one (resharded since) there is nothing to wait for.
            if (RestReader.TryGet(req.Body, "incarnation", out var incarnation) && incarnation.GetString() != collection.Incarnation)
                return (Action<Utf8JsonWriter>)(w => w.WriteBooleanValue(false));
            if (!await collection.WaitLocalAppliedAsync(shard, seq, req.Cancellation).ConfigureAwait(false))
                throw new QuiverException(QuiverError.Conflict($"shard {shard} of {collection.Name} has no replica on this node"));
            return (Action<Utf8JsonWriter>)(w => w.WriteBooleanValue(true));
        }));
    }

    /// <summary>A node's number in Qdrant's API: FNV-1a of its id, kept below 2^53 so JavaScript clients read it exactly.</summary>
    internal static ulong PeerId(string nodeId)
    {
        var h = 14695981039346656037UL;
        foreach (var b in System.Text.Encoding.UTF8.GetBytes(nodeId))
        {
            h ^= b;
            h *= 1099511628211UL;
        }

        return h & ((1UL << 53) - 1);
    }

    private static ValueTask<Action<Utf8JsonWriter>> Done(Action<Utf8JsonWriter> write) => ValueTask.FromResult(write);
}
