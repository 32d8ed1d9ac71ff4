using System.Net.Http.Json;
using Quiver.Cluster.Internal;

namespace Quiver.Cluster;

/// <summary>A node serving a shard, as routing sees it.</summary>
public sealed record PeerEndpoint(string NodeId, Uri Url, bool IsSelf);

/// <summary>A shard and the nodes serving it (caught up), the one to ask first first.</summary>
public sealed record ShardRoute(int Shard, IReadOnlyList<PeerEndpoint> Replicas);

/// <summary>A member as <c>GET /cluster</c> reports it.</summary>
public sealed record ClusterMember(string NodeId, Uri Url, IReadOnlyDictionary<string, int[]> Serving);

public sealed partial class ClusterNode
{
    /// <summary>The path of the internal endpoint that waits for a replica to apply a sequence.</summary>
    public const string WaitPath = "/cluster/internal/wait";

    /// <summary>
    /// For each shard of the collection, the nodes serving it, the one to ask first first: this node for every shard it
    /// serves; for the others as few nodes as cover them (each call to another node costs a request on both sides),
    /// ties broken by a rotation that changes per call so reads spread over the replicas. A shard with no serving
    /// replica has an empty list.
    /// </summary>
    public IReadOnlyList<ShardRoute> ReadPlan(string incarnation, int shardNumber)
    {
        var uid = incarnation;
        var view = _view;
        var rotation = (uint)Interlocked.Increment(ref _readRotation);
        var serving = new List<PeerEndpoint>[shardNumber];
        for (var shard = 0; shard < shardNumber; shard++)
        {
            serving[shard] = [];
            foreach (var node in view.LiveIds)
            {
                if (view.States.TryGetValue(node, out var state) && state.Ready.TryGetValue(uid, out var shards) && shards.Contains(shard))
                    serving[shard].Add(new PeerEndpoint(node, new Uri(state.Url), node == _options.NodeId));
            }
        }

        var first = new PeerEndpoint?[shardNumber];
        var remaining = new HashSet<int>();
        for (var shard = 0; shard < shardNumber; shard++)
        {
            first[shard] = serving[shard].Find(p => p.IsSelf);
            if (first[shard] is null && serving[shard].Count > 0)
                remaining.Add(shard);
        }

        while (remaining.Count > 0)
        {
            var best = remaining
                .SelectMany(shard => serving[shard].Select(peer => (peer, shard)))
                .GroupBy(x => x.peer.NodeId)
                .OrderByDescending(g => g.Count())
                .ThenBy(g => (Placement.Weight(g.Key, (int)(rotation & 0x7FFF_FFFF), string.Empty) >> 1) % 1_000_003)
                .First();
            foreach (var (peer, shard) in best)
            {
                first[shard] = peer;
                remaining.Remove(shard);
            }
        }

        var routes = new ShardRoute[shardNumber];
        for (var shard = 0; shard < shardNumber; shard++)
        {
            var chosen = first[shard];
            var others = serving[shard].Where(p => p.NodeId != chosen?.NodeId).ToList();
            if (others.Count > 1)
            {
                var start = (int)((rotation + (uint)shard) % (uint)others.Count);
                others = [.. others.Skip(start), .. others.Take(start)];
            }

            routes[shard] = new ShardRoute(shard, chosen is null ? others : [chosen, .. others]);
        }

        return routes;
    }

    /// <summary>The live members and the shards each serves, by collection name.</summary>
    public IReadOnlyList<ClusterMember> Members()
    {
        var view = _view;
        var names = _records.ToDictionary(r => r.Value.Uid, r => r.Key, StringComparer.Ordinal);
        return [.. view.LiveIds.Where(view.States.ContainsKey).Select(node =>
        {
            var state = view.States[node];
            var serving = state.Ready.Where(r => names.ContainsKey(r.Key)).ToDictionary(r => names[r.Key], r => r.Value, StringComparer.Ordinal);
            return new ClusterMember(node, new Uri(state.Url), serving);
        })];
    }

    /// <summary>
    /// Qdrant's peer removal: drops a stopped node from the membership now, so its shards move to the others at once
    /// instead of after three missed heartbeats. A running node cannot be removed (it would put its key again at its
    /// next beat: stop it, and SIGTERM leaves by itself), nor one still serving shards unless <paramref name="force"/>.
    /// </summary>
    public async ValueTask RemovePeerAsync(string nodeId, bool force, CancellationToken cancellationToken)
    {
        if (nodeId == _options.NodeId)
            throw Segment.Errors.QuiverException.BadInput("Wrong input: a node cannot remove itself: stop it (SIGTERM leaves the cluster at once)");
        var view = _view;
        if (!view.States.TryGetValue(nodeId, out var state))
            throw Segment.Errors.QuiverException.NotFound($"Not found: peer {nodeId} is not a member");
        if (!force && state.Ready.Values.Any(shards => shards.Length > 0))
            throw Segment.Errors.QuiverException.BadInput($"Wrong input: peer {nodeId} still serves shards; its replicas move to other nodes once it is removed: pass force=true to do that now");
        using var probe = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        probe.CancelAfter(TimeSpan.FromSeconds(1));
        try
        {
            using var response = await _http.GetAsync(new Uri(new Uri(state.Url), "/livez"), probe.Token).ConfigureAwait(false);
            throw Segment.Errors.QuiverException.BadInput($"Wrong input: peer {nodeId} is running (it answers at {state.Url}): stop it first, or it puts its membership again at its next heartbeat");
        }
        catch (Exception ex) when (ex is HttpRequestException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // Not reachable: stopped (or cut off), as removal requires.
        }

        await _membership.RemoveAsync(nodeId, cancellationToken).ConfigureAwait(false);
        // Out of this node's view at once, and kept out for a few beats: a listing read just before the delete (by
        // the sync loop, right now) must not bring it back. A restarted node of that id joins again after that.
        lock (_lastSeen)
        {
            _lastSeen.Remove(nodeId);
            _removedUntil[nodeId] = DateTime.UtcNow + (_options.Heartbeat * 4);
            var current = _view;
            _view = new ClusterView(
                [.. current.LiveIds.Where(id => id != nodeId)],
                current.States.Where(s => s.Key != nodeId).ToDictionary(s => s.Key, s => s.Value, StringComparer.Ordinal));
        }

        await SyncNowAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Waits until every other node serving the shard applied <paramref name="sequence"/>, so a read through any node
    /// sees the write. A node that cannot be reached is skipped: it has died, stops being routed to when its key
    /// lapses, and replays the log before it serves again.
    /// </summary>
    public async ValueTask WaitReplicasAsync(string collection, string incarnation, int shard, ulong sequence, CancellationToken cancellationToken)
    {
        var uid = incarnation;
        var view = _view;
        var waits = new List<Task>();
        foreach (var node in view.LiveIds)
        {
            if (node != _options.NodeId && view.States.TryGetValue(node, out var state) && state.Ready.TryGetValue(uid, out var shards) && shards.Contains(shard))
                waits.Add(WaitPeerAsync(node, new Uri(state.Url), new WaitRequest(collection, shard, sequence, incarnation), cancellationToken));
        }

        await Task.WhenAll(waits).ConfigureAwait(false);
    }

    private async Task WaitPeerAsync(string node, Uri url, WaitRequest request, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.PeerTimeout);
        try
        {
            using var message = new HttpRequestMessage(HttpMethod.Post, new Uri(url, WaitPath))
            {
                Content = JsonContent.Create(request, ClusterJsonContext.Default.WaitRequest),
            };
            if (_options.ApiKey is { } key)
                message.Headers.Add("api-key", key);
            using var response = await _http.SendAsync(message, timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
                ClusterLog.WaitSkipped(_logger, node, request.Collection, request.Shard, request.Sequence, $"HTTP {(int)response.StatusCode}");
        }
        catch (HttpRequestException ex)
        {
            ClusterLog.WaitSkipped(_logger, node, request.Collection, request.Shard, request.Sequence, ex.Message);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Alive but not applying within the timeout: reads there may lag; the write itself is durable.
            ClusterLog.WaitSkipped(_logger, node, request.Collection, request.Shard, request.Sequence, "timed out");
        }
    }
}
