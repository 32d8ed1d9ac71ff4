using System.Text.Json;
using Quiver.Cluster.Internal;
using Quiver.Engine.Collections;

namespace Quiver.Cluster;

public sealed partial class ClusterNode
{
    private const string CollectionsPrefix = "collections.";

    // Half a heartbeat: a dead member's key expires after three beats, so placement reacts within about that. Each
    // round is bounded: a NATS request that never answers must not stop the node from following the cluster.
    private Task LoopAsync() =>
        RepeatAsync(_options.Heartbeat / 2, RoundTimeout, SyncAsync, reason => ClusterLog.SyncFailed(_logger, reason));

    /// <summary>
    /// Runs <paramref name="round"/> every <paramref name="period"/> until the node stops, each round cancelled after
    /// <paramref name="timeout"/>; a round that fails (NATS unreachable, a leader election) is reported and the next
    /// one tries again.
    /// </summary>
    private async Task RepeatAsync(TimeSpan period, TimeSpan timeout, Func<CancellationToken, Task> round, Action<string> failed)
    {
        using var timer = new PeriodicTimer(period);
        while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
        {
            using var bounded = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            bounded.CancelAfter(timeout);
            try
            {
                await round(bounded.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // reported; the next round tries again
            catch (Exception ex)
#pragma warning restore CA1031
            {
                failed(ex.Message);
            }
        }
    }

    /// <summary>The longest one sync round may take before it is abandoned (the next one starts over).</summary>
    private static readonly TimeSpan RoundTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A round right now, for a request that changed the metadata (so this node reflects it before answering);
    /// bounded like the loop's, and a round that cannot finish is left to the loop.
    /// </summary>
    private async Task SyncNowAsync()
    {
        using var round = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        round.CancelAfter(RoundTimeout);
        try
        {
            await SyncAsync(round.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (round.IsCancellationRequested && !_stop.IsCancellationRequested)
        {
            ClusterLog.SyncFailed(_logger, $"a round did not finish within {RoundTimeout.TotalSeconds:F0} s; the sync loop goes on");
        }
    }

    /// <summary>
    /// One round: read the members and the collections, open and close collections to match the metadata store,
    /// start replicas placement gives this node and stop those it took away (once their new replicas serve), and
    /// advertise what this node now serves.
    /// </summary>
    private async Task SyncAsync(CancellationToken cancellationToken)
    {
        var catalog = _catalog ?? throw new InvalidOperationException("no catalog attached");
        await _sync.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await RefreshViewAsync(cancellationToken).ConfigureAwait(false);
            var records = new Dictionary<string, CollectionRecord>(StringComparer.Ordinal);
            foreach (var key in await _meta.KeysAsync(CollectionsPrefix, cancellationToken).ConfigureAwait(false))
            {
                if (await _meta.GetAsync(key, cancellationToken).ConfigureAwait(false) is { } entry
                    && JsonSerializer.Deserialize(entry.Value, ClusterJsonContext.Default.CollectionRecord) is { } record)
                {
                    records[JetStreamMetadataStore.Unescape(key[CollectionsPrefix.Length..])] = record;
                }
            }

            foreach (var (name, uid) in _attached)
            {
                if (records.TryGetValue(name, out var record) && record.Uid == uid)
                    continue;
                // Gone from the listing: closed (and its local state removed) only once a read of its key confirms.
                var current = await _meta.GetAsync(CollectionKey(name), cancellationToken).ConfigureAwait(false);
                var confirmed = current is null ? null : JsonSerializer.Deserialize(current.Value, ClusterJsonContext.Default.CollectionRecord);
                if (confirmed is not null)
                {
                    // Still there (the listing missed it), or a new incarnation that replaces this one when attached.
                    records[name] = confirmed;
                    continue;
                }

                await catalog.DetachAsync(name, cancellationToken).ConfigureAwait(false);
                _attached.TryRemove(name, out _);
            }

            _records = records;
            var allAttached = true;
            foreach (var (name, record) in records)
            {
                try
                {
                    // Opens a new collection (with the incarnation's id, so local state of an earlier one of the same
                    // name is discarded), or applies a changed configuration to an open one.
                    await catalog.AttachAsync(name, CollectionConfig.FromPersisted(record.Config), record.Uid, cancellationToken).ConfigureAwait(false);
                    _attached[name] = record.Uid;
                    await PlaceAsync(catalog.Get(name), record, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // One collection that cannot open now does not hold the others back.
                    ClusterLog.SyncFailed(_logger, $"{name}: {ex.Message}");
                    allAttached = false;
                }
            }

            if (!_pruned && allAttached)
            {
                // Once, after the first full round: folders of collections deleted while this node was down.
                await catalog.PruneDetachedFoldersAsync(cancellationToken).ConfigureAwait(false);
                _pruned = true;
            }

            await AdvertiseAsync(catalog, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _sync.Release();
        }
    }

    private async Task RefreshViewAsync(CancellationToken cancellationToken)
    {
        var members = await _membership.LiveAsync(cancellationToken).ConfigureAwait(false);
        // This node puts its key every beat: a listing without it was not a good read (or this node's puts are
        // failing), and must not make every other member look dead.
        if (!members.Any(m => m.NodeId == _options.NodeId))
            return;
        var states = new Dictionary<string, MemberState>(StringComparer.Ordinal);
        foreach (var member in members)
        {
            try
            {
                if (JsonSerializer.Deserialize(member.Address, ClusterJsonContext.Default.MemberState) is { } state)
                    states[member.NodeId] = state;
            }
            catch (JsonException)
            {
                // Not a Quiver node's state: ignored.
            }
        }

        // A member whose key is missing stays live until it has been missing for two beats of successful reads:
        // after a NATS leader election every key may have aged out at once, and placement must not move every shard
        // for the beat it takes the members to put theirs again.
        var now = DateTime.UtcNow;
        lock (_lastSeen)
        {
            foreach (var (node, until) in _removedUntil.ToList())
            {
                if (now < until)
                    states.Remove(node);
                else
                    _removedUntil.Remove(node);
            }

            foreach (var node in states.Keys)
                _lastSeen[node] = (null, states[node]);
            foreach (var (node, (missingSince, state)) in _lastSeen.ToList())
            {
                if (states.ContainsKey(node))
                    continue;
                if (missingSince is null)
                    _lastSeen[node] = (now, state);
                if (missingSince is null || now - missingSince < _options.Heartbeat * 2)
                    states[node] = state;
                else
                    _lastSeen.Remove(node);
            }
        }

        // This node counts as live even if its key lapsed (a long pause): it is running, and re-puts at the next beat.
        var live = states.Keys.Append(_options.NodeId).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        var before = _view.LiveIds;
        _view = new ClusterView(live, states);
        if (!before.SequenceEqual(live, StringComparer.Ordinal))
            ClusterLog.MembersChanged(_logger, string.Join(", ", live));
    }

    /// <summary>Starts the replicas placement gives this node; stops the ones it took away once every new replica serves.</summary>
    private async Task PlaceAsync(Collection collection, CollectionRecord record, CancellationToken cancellationToken)
    {
        var desired = DesiredReplicas(collection.Name);
        if (desired is null)
            return;
        // A replica whose log lost records before it applied them is closed here and opened again below, from the
        // shard's snapshot.
        foreach (var shard in collection.FaultedShards)
        {
            ClusterLog.ReplicaFailed(_logger, collection.Name, shard, "its log was compacted past it; rebuilding it from the snapshot");
            await collection.SetHostedAsync(shard, false).ConfigureAwait(false);
        }

        var hosted = collection.HostedShards;
        for (var shard = 0; shard < desired.Length; shard++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var wanted = desired[shard].Contains(_options.NodeId, StringComparer.Ordinal);
            var held = hosted.Contains(shard);
            if (wanted && !held)
            {
                try
                {
                    // Not the round's timeout: a big shard's snapshot may take longer to fetch than a round may last
                    // (a fetch that stalls is cut short by itself), and a round that gave up would start it over.
                    await collection.SetHostedAsync(shard, true, _stop.Token).ConfigureAwait(false);
                    ClusterLog.ReplicaStarted(_logger, collection.Name, shard, collection.AppliedSequenceOf(shard) ?? 0);
                }
#pragma warning disable CA1031 // the log unreachable for now: the next round tries again
                catch (Exception ex) when (ex is not OperationCanceledException || !_stop.IsCancellationRequested)
#pragma warning restore CA1031
                {
                    ClusterLog.ReplicaFailed(_logger, collection.Name, shard, ex.Message);
                }
            }
            else if (!wanted && held && desired[shard].All(node => Serves(node, record.Uid, shard)))
            {
                // Two steps: first stop advertising it (routing moves away within a round), a beat later close it.
                var key = (record.Uid, shard);
                if (!_retiring.TryGetValue(key, out var since))
                {
                    _retiring[key] = DateTime.UtcNow;
                }
                else if (DateTime.UtcNow - since >= _options.Heartbeat)
                {
                    await collection.SetHostedAsync(shard, false).ConfigureAwait(false);
                    _retiring.Remove(key);
                    ClusterLog.ReplicaStopped(_logger, collection.Name, shard);
                }
            }
            else
            {
                _retiring.Remove((record.Uid, shard));
            }
        }
    }

    private bool Serves(string node, string uid, int shard) =>
        _view.States.TryGetValue(node, out var state) && state.Ready.TryGetValue(uid, out var shards) && shards.Contains(shard);

    /// <summary>Puts this node's state (what it serves) when it changed, so routing sees it before the next beat.</summary>
    private async Task AdvertiseAsync(Engine.Catalog.CollectionCatalog catalog, CancellationToken cancellationToken)
    {
        var ready = new Dictionary<string, int[]>(StringComparer.Ordinal);
        var applied = new Dictionary<string, ulong>(StringComparer.Ordinal);
        foreach (var (name, uid) in _attached)
        {
            if (catalog.TryGet(name) is not { } collection)
                continue;
            var faulted = collection.FaultedShards;
            ready[uid] = [.. collection.HostedShards.Where(shard => !_retiring.ContainsKey((uid, shard)) && !faulted.Contains(shard))];
            // What each replica here has applied: compaction never drops a record a serving replica still needs.
            foreach (var shard in collection.HostedShards)
                applied[AppliedKey(uid, shard)] = collection.AppliedSequenceOf(shard) ?? 0;
        }

        var state = Serialize(new MemberState(_options.AdvertiseUrl.ToString(), ready, applied));
        if (state == _advertised)
            return;
        await _membership.SetAddressAsync(state, cancellationToken).ConfigureAwait(false);
        _advertised = state;
        await RefreshViewAsync(cancellationToken).ConfigureAwait(false);
    }
}
