using System.Text.Json;
using Quiver.Cluster.Internal;
using Quiver.Engine.Collections;
using Quiver.Segment.Errors;

namespace Quiver.Cluster;

public sealed partial class ClusterNode
{
    /// <summary>How long a collection change waits for every live node to open (or close) it before answering.</summary>
    private static readonly TimeSpan SpreadTimeout = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Creates the shard logs, then the collection's key (compare-and-set: of two nodes creating the same name one
    /// wins, the other removes its logs and answers that it exists), opens it here and waits until every live node
    /// has opened it, so the next request through any node finds it.
    /// </summary>
    public async ValueTask CreateCollectionAsync(string name, CollectionConfig config, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(config);
        var uid = Guid.NewGuid().ToString("N")[..16];
        var record = new CollectionRecord(uid, (System.Text.Json.Nodes.JsonObject)config.Json.DeepClone());
        ulong? created;
        try
        {
            await Task.WhenAll(Enumerable.Range(0, config.ShardNumber).Select(async shard =>
            {
                await using var log = await JetStreamShardLog.OpenAsync(_nats, LogOptions(uid, shard), CancellationToken.None).ConfigureAwait(false);
            })).ConfigureAwait(false);
            created = await _meta.CreateAsync(CollectionKey(name), JsonSerializer.SerializeToUtf8Bytes(record, ClusterJsonContext.Default.CollectionRecord), CancellationToken.None).ConfigureAwait(false);
        }
        catch
        {
            // Logs of an incarnation that was never agreed: nobody else can know of them.
            await DeleteLogsAsync(uid, config.ShardNumber).ConfigureAwait(false);
            throw;
        }

        if (created is null)
        {
            await DeleteLogsAsync(uid, config.ShardNumber).ConfigureAwait(false);
            throw QuiverException.BadInput($"Wrong input: Collection `{name}` already exists!");
        }

        // Agreed: what follows finishes even if the caller goes away.
        await SyncNowAsync().ConfigureAwait(false);
        await WaitSpreadAsync(uid, present: true, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>
    /// Applies <paramref name="change"/> to the configuration as stored, and stores the result if nobody changed it
    /// since it was read (else Conflict: try again).
    /// </summary>
    public async ValueTask UpdateCollectionAsync(string name, Func<CollectionConfig, CollectionConfig> change, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(change);
        var key = CollectionKey(name);
        var entry = await _meta.GetAsync(key, cancellationToken).ConfigureAwait(false)
            ?? throw QuiverException.NotFound($"Not found: Collection `{name}` doesn't exist!");
        var current = JsonSerializer.Deserialize(entry.Value, ClusterJsonContext.Default.CollectionRecord)!;
        var config = change(CollectionConfig.FromPersisted(current.Config));
        var record = current with { Config = (System.Text.Json.Nodes.JsonObject)config.Json.DeepClone() };
        if (await _meta.UpdateAsync(key, JsonSerializer.SerializeToUtf8Bytes(record, ClusterJsonContext.Default.CollectionRecord), entry.Revision, cancellationToken).ConfigureAwait(false) is null)
            throw new QuiverException(QuiverError.Conflict($"Collection `{name}` was changed by another request at the same time; read it and try again"));
        await SyncNowAsync().ConfigureAwait(false);
    }

    /// <summary>Removes the key, waits until no live node serves the collection, then deletes its logs.</summary>
    public async ValueTask<bool> DeleteCollectionAsync(string name, CancellationToken cancellationToken)
    {
        var key = CollectionKey(name);
        var entry = await _meta.GetAsync(key, cancellationToken).ConfigureAwait(false);
        if (entry is null)
            return false;
        var record = JsonSerializer.Deserialize(entry.Value, ClusterJsonContext.Default.CollectionRecord)!;
        if (!await _meta.DeleteAsync(key, entry.Revision, cancellationToken).ConfigureAwait(false))
            throw new QuiverException(QuiverError.Conflict($"Collection `{name}` was changed by another request at the same time; try again"));
        // Agreed: what follows finishes even if the caller goes away, so no log is left behind.
        await SyncNowAsync().ConfigureAwait(false);
        await WaitSpreadAsync(record.Uid, present: false, CancellationToken.None).ConfigureAwait(false);
        await DeleteLogsAsync(record.Uid, CollectionConfig.FromPersisted(record.Config).ShardNumber).ConfigureAwait(false);
        // A resharding under way is abandoned with it (its copy fails on the missing logs and cleans up as well).
        if (record.Resharding is { } resharding)
            await DeleteLogsAsync(resharding.Uid, resharding.ShardNumber).ConfigureAwait(false);
        return true;
    }

    private static string CollectionKey(string name) => JetStreamMetadataStore.Key("collections", name);

    private async Task DeleteLogsAsync(string uid, int shards)
    {
        for (var shard = 0; shard < shards; shard++)
        {
            await JetStreamShardLog.DeleteAsync(_nats, LogOptions(uid, shard).Stream).ConfigureAwait(false);
            // The incarnation's snapshots go with its logs.
            try
            {
                await (await SnapshotStoreAsync(CancellationToken.None).ConfigureAwait(false)).DeleteAsync(AppliedKey(uid, shard)).ConfigureAwait(false);
            }
            catch (NATS.Client.ObjectStore.NatsObjNotFoundException)
            {
            }
        }
    }

    /// <summary>
    /// Waits until every live node advertises the collection incarnation (or none does), up to <see cref="SpreadTimeout"/>;
    /// false when that did not happen in time.
    /// </summary>
    private async Task<bool> WaitSpreadAsync(string uid, bool present, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + SpreadTimeout;
        while (DateTime.UtcNow < deadline)
        {
            await RefreshViewAsync(cancellationToken).ConfigureAwait(false);
            var view = _view;
            // This node too: a round that failed to open it (a JetStream request timed out) is retried by the sync
            // loop, and the request that follows must not find it missing here.
            if (view.LiveIds.All(node => view.States.TryGetValue(node, out var s) && s.Ready.ContainsKey(uid) == present))
                return true;
            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }

        return false;
    }
}
