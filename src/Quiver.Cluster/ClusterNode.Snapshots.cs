using System.Formats.Tar;
using System.Globalization;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Client.ObjectStore;
using NATS.Client.ObjectStore.Models;
using Quiver.Cluster.Internal;
using Quiver.Engine.Collections;

namespace Quiver.Cluster;

/// <summary>
/// Shard snapshots in the JetStream Object Store and log compaction. Each shard's first placed replica stores a
/// snapshot (its applied state as a tar of the shard's files, named <c>{incarnation}/{shard}</c>, the sequence it
/// covers in the description) every <see cref="ClusterOptions.SnapshotInterval"/>; then the shard's log is purged
/// below the lowest of that sequence and what every serving replica has applied. A replica whose folder is empty, or
/// older than the log's first record, starts from the snapshot and replays the rest of the log.
/// </summary>
public sealed partial class ClusterNode
{
    private readonly Dictionary<(string Uid, int Shard), ulong> _snapshotted = [];

    /// <summary>The sequence each shard's log was last compacted up to (only touched by the snapshot loop, like <see cref="_snapshotted"/>).</summary>
    private readonly Dictionary<(string Uid, int Shard), ulong> _compacted = [];
    private INatsObjStore? _snapshots;
    private Task? _snapshotLoop;

    private static string AppliedKey(string uid, int shard) => string.Create(CultureInfo.InvariantCulture, $"{uid}/{shard}");

    /// <summary>The log sequence a stored snapshot covers (kept in its description).</summary>
    private static ulong CoveredBy(ObjectMetadata snapshot) => ulong.Parse(snapshot.Description ?? "0", CultureInfo.InvariantCulture);

    private async Task<INatsObjStore> SnapshotStoreAsync(CancellationToken cancellationToken) =>
        _snapshots ??= await new NatsObjContext(new NatsJSContext(_nats)).CreateObjectStoreAsync(
            new NatsObjConfig($"{_options.Prefix}_SNAPSHOTS") { NumberOfReplicas = _options.LogReplicas, Storage = NatsObjStorageType.File },
            cancellationToken).ConfigureAwait(false);

    // A round uploads whole shards: bounded by the interval itself, not by the sync loop's short timeout.
    private Task SnapshotLoopAsync() =>
        RepeatAsync(_options.SnapshotInterval, _options.SnapshotInterval + TimeSpan.FromMinutes(10), SnapshotRoundAsync, reason => ClusterLog.SnapshotFailed(_logger, reason));

    /// <summary>
    /// Snapshots the shards this node is the first placed replica of, where new records were applied, and compacts
    /// their logs up to the snapshot. A compaction that a lagging replica held back is tried again every round.
    /// </summary>
    private async Task SnapshotRoundAsync(CancellationToken cancellationToken)
    {
        if (_catalog is not { } catalog)
            return;
        var attached = _attached.Values.ToHashSet(StringComparer.Ordinal);
        foreach (var gone in _snapshotted.Keys.Concat(_compacted.Keys).Where(k => !attached.Contains(k.Uid)).ToList())
        {
            _snapshotted.Remove(gone);
            _compacted.Remove(gone);
        }

        foreach (var (name, uid) in _attached)
        {
            if (catalog.TryGet(name) is not { } collection || collection.Incarnation != uid || DesiredReplicas(name) is not { } desired)
                continue;
            foreach (var shard in collection.HostedShards)
            {
                // One replica per shard takes its snapshots: the first placement names.
                if (shard >= desired.Length || desired[shard].Count == 0 || desired[shard][0] != _options.NodeId)
                    continue;
                var applied = collection.AppliedSequenceOf(shard) ?? 0;
                var snapshotted = _snapshotted.GetValueOrDefault((uid, shard));
                if (applied == 0 || (applied <= snapshotted && snapshotted <= _compacted.GetValueOrDefault((uid, shard))))
                    continue;
                try
                {
                    if (applied > snapshotted)
                    {
                        if (await TakeSnapshotAsync(collection, uid, shard, cancellationToken).ConfigureAwait(false) is not { } covered)
                            continue;
                        _snapshotted[(uid, shard)] = snapshotted = covered;
                    }

                    // A resharding copies from the log: it is not cut meanwhile (a snapshot taken before it began is
                    // where the copy of a compacted log starts). The record is read afresh, not from the last sync.
                    var entry = await _meta.GetAsync(CollectionKey(name), cancellationToken).ConfigureAwait(false);
                    var current = entry is null ? null : System.Text.Json.JsonSerializer.Deserialize(entry.Value, ClusterJsonContext.Default.CollectionRecord);
                    if (current is not null && current.Uid == uid && current.Resharding is null
                        && await CompactAsync(uid, shard, snapshotted, cancellationToken).ConfigureAwait(false))
                    {
                        _compacted[(uid, shard)] = snapshotted;
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // One shard's failure does not hold the others back.
                    ClusterLog.SnapshotFailed(_logger, $"{name} shard {shard}: {ex.Message}");
                }
            }
        }
    }

    private async Task<ulong?> TakeSnapshotAsync(Collection collection, string uid, int shard, CancellationToken cancellationToken)
    {
        var file = Path.Combine(Path.GetTempPath(), $"quiver-snapshot-{uid}-{shard}-{Guid.NewGuid():N}.tar");
        try
        {
            ulong? covered;
            await using (var output = File.Create(file))
            {
                using var tar = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true);
                covered = collection.CopyShardState(shard, (entry, path) => tar.WriteEntry(path, entry));
            }

            if (covered is null)
                return null;
            var store = await SnapshotStoreAsync(cancellationToken).ConfigureAwait(false);
            await using (var input = File.OpenRead(file))
            {
                await store.PutAsync(
                    new ObjectMetadata { Name = AppliedKey(uid, shard), Description = covered.Value.ToString(CultureInfo.InvariantCulture) },
                    input, leaveOpen: false, cancellationToken).ConfigureAwait(false);
            }

            ClusterLog.SnapshotStored(_logger, collection.Name, shard, covered.Value, new FileInfo(file).Length);
            return covered;
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>
    /// Purges the shard's log below what the snapshot and every serving replica cover (a replica whose applied
    /// sequence is unknown holds it back). True when everything the snapshot covers is gone from the log.
    /// </summary>
    private async Task<bool> CompactAsync(string uid, int shard, ulong covered, CancellationToken cancellationToken)
    {
        // The stored snapshot, not ours: another node taking the shard's snapshots at the same moment (views differ
        // during a membership change) may have replaced it with an older one.
        var stored = CoveredBy(await (await SnapshotStoreAsync(cancellationToken).ConfigureAwait(false)).GetInfoAsync(AppliedKey(uid, shard), cancellationToken: cancellationToken).ConfigureAwait(false));
        if (stored < covered)
        {
            // The next round stores a snapshot of this replica again, which the compaction can then reach.
            _snapshotted[(uid, shard)] = stored;
        }

        var keep = Math.Min(covered, stored);
        var view = _view;
        foreach (var (node, state) in view.States)
        {
            // Every replica a node holds counts, advertised as serving or not (retiring, just opened).
            if (state.Applied?.TryGetValue(AppliedKey(uid, shard), out var applied) == true)
            {
                keep = Math.Min(keep, applied);
                continue;
            }

            if (state.Ready.TryGetValue(uid, out var shards) && shards.Contains(shard))
                return false;
        }

        if (keep <= 1)
            return false;
        var js = new NatsJSContext(_nats);
        await js.PurgeStreamAsync(LogOptions(uid, shard).Stream, new StreamPurgeRequest { Seq = keep + 1 }, cancellationToken).ConfigureAwait(false);
        return keep >= covered;
    }

    /// <summary>
    /// Restores the newest snapshot into a replica's folder when the log cannot bring the folder's state up to date
    /// (compacted past it), or the folder is empty and a snapshot spares replaying the whole log.
    /// </summary>
    public void PrepareReplica(string incarnation, int shard, string directory, ulong flushedSequence, CancellationToken cancellationToken) =>
        PrepareReplicaAsync(incarnation, shard, directory, flushedSequence, cancellationToken).GetAwaiter().GetResult();

    private async Task PrepareReplicaAsync(string incarnation, int shard, string directory, ulong flushedSequence, CancellationToken cancellationToken)
    {
        var stream = await new NatsJSContext(_nats).GetStreamAsync(LogOptions(incarnation, shard).Stream, cancellationToken: cancellationToken).ConfigureAwait(false);
        var first = Math.Max(1, stream.Info.State.FirstSeq);
        var gap = flushedSequence + 1 < first;
        if (!gap && flushedSequence > 0)
            return;
        var store = await SnapshotStoreAsync(cancellationToken).ConfigureAwait(false);
        var key = AppliedKey(incarnation, shard);
        ObjectMetadata info;
        try
        {
            info = await store.GetInfoAsync(key, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (NatsObjNotFoundException)
        {
            if (gap)
                throw new InvalidOperationException($"shard {shard} of incarnation {incarnation}: the log starts at {first}, the local state ends at {flushedSequence}, and there is no snapshot");
            return;
        }

        var covered = CoveredBy(info);
        if (covered + 1 < first)
            throw new InvalidOperationException($"shard {shard} of incarnation {incarnation}: the newest snapshot covers {covered}, the log starts at {first}");
        if (covered <= flushedSequence)
            return;
        var file = Path.Combine(Path.GetTempPath(), $"quiver-restore-{incarnation}-{shard}-{Guid.NewGuid():N}.tar");
        try
        {
            // The shard's first replica may store a newer snapshot meanwhile: what was read is the newest one then.
            var read = await SnapshotDownload.GetAsync(
                store, key, file, SnapshotDownload.DefaultStallTimeout, SnapshotDownload.DefaultAttempts,
                reason => ClusterLog.SnapshotReadAgain(_logger, key, reason), cancellationToken).ConfigureAwait(false);
            covered = CoveredBy(read);
            // Extracted beside the folder, then moved into place: a restore cut short never leaves a manifest that
            // names files which are not there.
            var staging = directory.TrimEnd(Path.DirectorySeparatorChar) + ".restoring";
            if (Directory.Exists(staging))
                Directory.Delete(staging, recursive: true);
            Directory.CreateDirectory(staging);
            try
            {
                await TarFile.ExtractToDirectoryAsync(file, staging, overwriteFiles: true, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                // Up to a whole shard of disk: not left for a next attempt that may never come here (the shard moved).
                Directory.Delete(staging, recursive: true);
                throw;
            }

            if (Directory.Exists(directory))
                Directory.Delete(directory, recursive: true);
            Directory.CreateDirectory(Path.GetDirectoryName(directory.TrimEnd(Path.DirectorySeparatorChar))!);
            Directory.Move(staging, directory);
            ClusterLog.SnapshotRestored(_logger, incarnation, shard, covered);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
