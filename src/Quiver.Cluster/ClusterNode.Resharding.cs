using System.Text.Json;
using Quiver.Cluster.Internal;
using Quiver.Engine.Collections;
using Quiver.Engine.Operations;
using Quiver.Segment.Errors;
using Quiver.Segment.Points;

namespace Quiver.Cluster;

public sealed partial class ClusterNode
{
    /// <summary>
    /// Changes a live collection's shard_number without stopping writes (DESIGN.md: a log-level operation). New shard
    /// logs are created and filled from the old ones (each operation split by the new routing, a filtered one limited
    /// to the points of the old shard it came from, so every point's history keeps its order); writes go on to the
    /// old logs meanwhile. When the copies have caught up the old logs are sealed: a write refused by a sealed log is
    /// retried by its node on the new layout. The copies drain the last records, then the collection's record
    /// switches to the new logs in one compare-and-set and every node opens the new replicas.
    /// </summary>
    public async Task ReshardAsync(string name, int shardNumber, CancellationToken cancellationToken)
    {
        if (shardNumber is < 1 or > CollectionConfig.MaxShards)
            throw QuiverException.BadInput($"Wrong input: shard_number must be 1 to {CollectionConfig.MaxShards}");
        var key = CollectionKey(name);
        var entry = await _meta.GetAsync(key, cancellationToken).ConfigureAwait(false)
            ?? throw QuiverException.NotFound($"Not found: Collection `{name}` doesn't exist!");
        var record = JsonSerializer.Deserialize(entry.Value, ClusterJsonContext.Default.CollectionRecord)!;
        if (record.Resharding is not null)
            throw new QuiverException(QuiverError.Conflict($"Collection `{name}` is being resharded already"));
        var oldConfig = CollectionConfig.FromPersisted(record.Config);
        var oldShards = oldConfig.ShardNumber;
        if (oldShards == shardNumber)
            throw QuiverException.BadInput($"Wrong input: collection `{name}` has {shardNumber} shards already");

        var uid = Guid.NewGuid().ToString("N")[..16];
        await Task.WhenAll(Enumerable.Range(0, shardNumber).Select(async shard =>
        {
            await using var log = await JetStreamShardLog.OpenAsync(_nats, LogOptions(uid, shard), CancellationToken.None).ConfigureAwait(false);
        })).ConfigureAwait(false);
        var started = record with { Resharding = new ReshardingRecord(uid, shardNumber) };
        var revision = await _meta.UpdateAsync(key, JsonSerializer.SerializeToUtf8Bytes(started, ClusterJsonContext.Default.CollectionRecord), entry.Revision, cancellationToken).ConfigureAwait(false);
        if (revision is null)
        {
            await DeleteLogsAsync(uid, shardNumber).ConfigureAwait(false);
            throw new QuiverException(QuiverError.Conflict($"Collection `{name}` was changed by another request at the same time; try again"));
        }

        ClusterLog.ReshardingStarted(_logger, name, oldShards, shardNumber);
        // From here on the copy runs to the end even if the caller goes away: half a resharding helps nobody.
        var targets = new JetStreamShardLog?[shardNumber];
        var sealedOld = false;
        try
        {
            for (var shard = 0; shard < shardNumber; shard++)
                targets[shard] = await JetStreamShardLog.OpenExistingAsync(_nats, LogOptions(uid, shard)).ConfigureAwait(false);
            var copied = new ulong[oldShards];
            // Copy while writes go on, until a pass finds little left; then seal and copy the rest.
            for (var pass = 0; pass < 20; pass++)
            {
                var moved = await CopyPassAsync(record.Uid, oldConfig, shardNumber, copied, targets!).ConfigureAwait(false);
                if (moved < 64)
                    break;
            }

            sealedOld = true;
            for (var shard = 0; shard < oldShards; shard++)
                await JetStreamShardLog.SealAsync(_nats, LogOptions(record.Uid, shard).Stream).ConfigureAwait(false);
            var tail = await CopyPassAsync(record.Uid, oldConfig, shardNumber, copied, targets!).ConfigureAwait(false);
            ClusterLog.ReshardingSealed(_logger, name, copied.Aggregate(0UL, (a, b) => a + b), tail);
        }
        catch (Exception ex) when (!sealedOld)
        {
            // Nothing was sealed: the collection goes on as it was, and the half-filled new logs go.
            ClusterLog.SyncFailed(_logger, $"resharding {name} failed before the cut-over and was abandoned: {ex.Message}");
            await AbandonReshardingAsync(key, record.Uid, uid, shardNumber).ConfigureAwait(false);
            throw;
        }
        finally
        {
            foreach (var target in targets)
            {
                if (target is not null)
                    await target.DisposeAsync().ConfigureAwait(false);
            }
        }

        // The switch: only over the record this resharding started from (a PATCH meanwhile is kept; a collection
        // deleted, or deleted and created again, is not replaced).
        var current = await _meta.GetAsync(key, CancellationToken.None).ConfigureAwait(false);
        var latest = current is null ? null : JsonSerializer.Deserialize(current.Value, ClusterJsonContext.Default.CollectionRecord);
        if (latest is null || latest.Uid != record.Uid || latest.Resharding?.Uid != uid)
        {
            await DeleteLogsAsync(uid, shardNumber).ConfigureAwait(false);
            throw new QuiverException(QuiverError.Conflict($"Collection `{name}` was deleted or replaced during the resharding; the new logs were dropped"));
        }

        var config = latest.Config.DeepClone().AsObject();
        config["params"]!["shard_number"] = shardNumber;
        var switched = new CollectionRecord(uid, config);
        if (await _meta.UpdateAsync(key, JsonSerializer.SerializeToUtf8Bytes(switched, ClusterJsonContext.Default.CollectionRecord), current!.Revision, CancellationToken.None).ConfigureAwait(false) is null)
            throw new QuiverException(QuiverError.Conflict($"Collection `{name}` changed at the moment of the switch; its old logs are sealed and the new ones complete: try the request again"));
        ClusterLog.ReshardingStep(_logger, name, "switched to the new logs; opening them here");
        await SyncNowAsync().ConfigureAwait(false);
        ClusterLog.ReshardingStep(_logger, name, "open here; waiting for every node");
        await WaitSpreadAsync(uid, present: true, CancellationToken.None).ConfigureAwait(false);
        // The old logs go only once no live node serves from them any more; else they are left (and logged).
        if (await WaitSpreadAsync(record.Uid, present: false, CancellationToken.None).ConfigureAwait(false))
            await DeleteLogsAsync(record.Uid, oldShards).ConfigureAwait(false);
        else
            ClusterLog.SyncFailed(_logger, $"resharding {name}: a node still serves the old logs ({record.Uid}); they are kept");
        ClusterLog.ReshardingDone(_logger, name, shardNumber);
    }

    /// <summary>Clears a resharding that did not reach its cut-over and deletes its new logs.</summary>
    private async Task AbandonReshardingAsync(string key, string oldUid, string newUid, int newShards)
    {
        try
        {
            var current = await _meta.GetAsync(key, CancellationToken.None).ConfigureAwait(false);
            var latest = current is null ? null : JsonSerializer.Deserialize(current.Value, ClusterJsonContext.Default.CollectionRecord);
            if (latest is not null && latest.Uid == oldUid && latest.Resharding?.Uid == newUid)
                await _meta.UpdateAsync(key, JsonSerializer.SerializeToUtf8Bytes(latest with { Resharding = null }, ClusterJsonContext.Default.CollectionRecord), current!.Revision, CancellationToken.None).ConfigureAwait(false);
            await DeleteLogsAsync(newUid, newShards).ConfigureAwait(false);
        }
        catch (NATS.Client.Core.NatsException ex)
        {
            ClusterLog.SyncFailed(_logger, $"abandoning the resharding: {ex.Message}");
        }
    }

    /// <summary>
    /// Copies an old shard's snapshot into the new logs: its payload indexes to every new shard, its points by the new
    /// routing. Returns the old log's sequence the snapshot covers (the copy continues from the record after it).
    /// </summary>
    private async Task<ulong> CopySnapshotAsync(string oldUid, int shard, CollectionConfig config, int newShards, JetStreamShardLog[] targets)
    {
        var directory = Path.Combine(Path.GetTempPath(), $"quiver-reshard-{oldUid}-{shard}-{Guid.NewGuid():N}");
        try
        {
            await PrepareReplicaAsync(oldUid, shard, Path.Combine(directory, "shards", "0"), 0, CancellationToken.None).ConfigureAwait(false);
            return await Collection.ReadShardStateAsync(directory, config, _logger,
                async indexes =>
                {
                    foreach (var (field, schema) in indexes)
                    {
                        foreach (var target in targets)
                            await target.AppendAsync(OperationCodec.Encode(new CreateFieldIndex(field, schema))).ConfigureAwait(false);
                    }
                },
                async points =>
                {
                    foreach (var group in points.GroupBy(p => p.Id.ShardIn(newShards)))
                    {
                        await AppendUpsertAsync(targets[group.Key], [.. group.Select(p => new PointWrite(p.Id, p.Vectors ?? [], p.Payload ?? Segment.Payloads.Payload.Empty))]).ConfigureAwait(false);
                    }
                }).ConfigureAwait(false);
        }
        finally
        {
            if (Directory.Exists(directory))
                Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>Publishes each new shard's buffered parts (new shards concurrently, each in order) and starts new runs.</summary>
    private static async Task PublishPartsAsync(List<PointOperation>[] parts, Dictionary<PointId, PointWrite>?[] runs, JetStreamShardLog[] targets)
    {
        await Task.WhenAll(Enumerable.Range(0, parts.Length).Where(t => parts[t].Count > 0).Select(async target =>
        {
            foreach (var part in parts[target])
            {
                if (part is UpsertPoints upsert)
                    await AppendUpsertAsync(targets[target], [.. upsert.Points]).ConfigureAwait(false);
                else
                    await targets[target].AppendAsync(OperationCodec.Encode(part)).ConfigureAwait(false);
            }
        })).ConfigureAwait(false);
        for (var target = 0; target < parts.Length; target++)
        {
            parts[target].Clear();
            runs[target] = null;
        }
    }

    /// <summary>NATS refuses messages over its max_payload (1 MB by default): an upsert larger than this goes in halves.</summary>
    private const int MaxRecordBytes = 768 * 1024;

    private static async Task AppendUpsertAsync(JetStreamShardLog target, PointWrite[] points)
    {
        var record = OperationCodec.Encode(new UpsertPoints(points));
        if (record.Length <= MaxRecordBytes || points.Length == 1)
        {
            await target.AppendAsync(record).ConfigureAwait(false);
            return;
        }

        await AppendUpsertAsync(target, points[..(points.Length / 2)]).ConfigureAwait(false);
        await AppendUpsertAsync(target, points[(points.Length / 2)..]).ConfigureAwait(false);
    }

    /// <summary>
    /// Copies each old log's records after <paramref name="copied"/> (its last copied sequence, advanced here) to the
    /// new logs, old shards in parallel. Returns how many records it copied.
    /// </summary>
    private async Task<long> CopyPassAsync(string oldUid, CollectionConfig config, int newShards, ulong[] copied, JetStreamShardLog[] targets)
    {
        var oldShards = config.ShardNumber;
        var counts = await Task.WhenAll(Enumerable.Range(0, oldShards).Select(shard => Task.Run(async () =>
        {
            await using var source = await JetStreamShardLog.OpenExistingAsync(_nats, LogOptions(oldUid, shard)).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"the log of old shard {shard} is gone");
            long count = 0;
            if (copied[shard] + 1 < source.FirstSequence)
            {
                // The log was compacted: its start is the shard's newest snapshot. Only before anything of this shard
                // was copied: later, a snapshot would bring back points deleted after the part already copied.
                if (copied[shard] > 0)
                    throw new InvalidOperationException($"the log of old shard {shard} was compacted during the resharding (past {copied[shard]})");
                copied[shard] = await CopySnapshotAsync(oldUid, shard, config, newShards, targets).ConfigureAwait(false);
                count++;
            }

            // Each new shard's parts in the order of this log; runs of upserts become one upsert (far fewer records
            // to replicate, so the copy keeps up with the writes going on meanwhile). All points of one upsert get one
            // version and the first of an id wins, so a run keeps only each id's last write. New shards are
            // independent: their parts are published concurrently, each new shard's in order.
            var parts = new List<PointOperation>[newShards];
            for (var target = 0; target < newShards; target++)
                parts[target] = [];
            var runs = new Dictionary<PointId, PointWrite>?[newShards];
            var last = copied[shard];
            var buffered = 0;
            foreach (var record in source.ReadFrom(copied[shard] + 1))
            {
                last = record.Sequence;
                var operation = OperationRouting.ForCopyFrom(OperationCodec.Decode(record.Data.Span), oldShards, shard);
                foreach (var (target, part) in OperationRouting.Split(operation, newShards))
                {
                    if (part is UpsertPoints upsert)
                    {
                        // Within one upsert the first of an id wins (all get one version), across upserts the last.
                        if (runs[target] is not { Count: < 1024 } run)
                        {
                            run = runs[target] = [];
                            parts[target].Add(new UpsertPoints([]));
                        }

                        foreach (var point in upsert.Points.DistinctBy(p => p.Id))
                            run[point.Id] = point;
                        // The run's upsert is the target's last part until something else comes.
                        parts[target][^1] = new UpsertPoints([.. run.Values]);
                    }
                    else
                    {
                        runs[target] = null;
                        parts[target].Add(part);
                    }
                }

                count++;
                if (++buffered == 512)
                {
                    await PublishPartsAsync(parts, runs, targets).ConfigureAwait(false);
                    buffered = 0;
                }
            }

            await PublishPartsAsync(parts, runs, targets).ConfigureAwait(false);
            copied[shard] = last;
            return count;
        }))).ConfigureAwait(false);
        return counts.Sum();
    }
}
