using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Quiver.Engine.Collections;
using Quiver.Engine.Internal;
using Quiver.Engine.Snapshots;
using Quiver.Segment.Errors;
using Quiver.Storage.Files;
using Quiver.Storage.Internal;
using Quiver.Storage.Wal;

namespace Quiver.Engine.Catalog;

/// <summary>
/// Snapshots. A collection snapshot is each shard's flushed files, copied while writes go on (see
/// <c>Shard.CopyStateTo</c>): a consistent point in each shard's log, with its graphs, so a recovered collection
/// serves at once without re-indexing. Recovery extracts and verifies the archive, then opens the result once
/// aside; only a snapshot that fully loads replaces the collection, through one directory rename that start-up
/// completes if the process dies half-way.
/// </summary>
public sealed partial class CollectionCatalog
{
    private const string RestoredPrefix = ".restored.";

    public SnapshotStore Snapshots { get; }

    /// <summary>Snapshots a collection (by name or alias) and returns the new file's description.</summary>
    public async ValueTask<SnapshotInfo> CreateSnapshotAsync(string nameOrAlias, CancellationToken cancellationToken)
    {
        // The gate keeps the collection from being deleted, replaced or reconfigured while it is copied.
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var collection = Get(nameOrAlias);
            // Once started a snapshot completes (a client going away must not leave half a file behind).
            var info = await Task.Run(() => Snapshots.Create(collection.Name, collection.Name, writer => WriteCollection(collection, writer)), CancellationToken.None).ConfigureAwait(false);
            EngineLog.SnapshotCreated(_logger, info.Name, info.Size);
            return info;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Snapshots every collection and the aliases into one file.</summary>
    public async ValueTask<SnapshotInfo> CreateFullSnapshotAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var info = await Task.Run(() => Snapshots.Create(null, "full-snapshot", WriteStorage), CancellationToken.None).ConfigureAwait(false);
            EngineLog.SnapshotCreated(_logger, info.Name, info.Size);
            return info;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Replaces (or creates) collection <paramref name="name"/> with the snapshot at <paramref name="archivePath"/>.
    /// With <paramref name="expectedChecksum"/> the file's SHA-256 must match it. A damaged or foreign snapshot is
    /// refused with BadInput and changes nothing.
    /// </summary>
    public async ValueTask RecoverSnapshotAsync(string name, string archivePath, string? expectedChecksum, CancellationToken cancellationToken)
    {
        ValidateName(name);
        if (expectedChecksum is not null)
        {
            var actual = await Task.Run(() => SnapshotArchive.FileSha256(archivePath), cancellationToken).ConfigureAwait(false);
            if (!string.Equals(actual, expectedChecksum.Trim(), StringComparison.OrdinalIgnoreCase))
                throw QuiverException.BadInput($"Wrong input: snapshot checksum mismatch: expected {expectedChecksum}, the file's SHA-256 is {actual}. Nothing was changed.");
        }

        var staging = Path.Combine(CollectionsDir, $".staging-{Guid.NewGuid():N}");
        try
        {
            var config = await Task.Run(() => PrepareRecovery(name, archivePath, staging), cancellationToken).ConfigureAwait(false);
            await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await CommitRecoveryAsync(name, staging, config).ConfigureAwait(false);
            }
            finally
            {
                _gate.Release();
            }
        }
        finally
        {
            if (Directory.Exists(staging))
                Directory.Delete(staging, recursive: true);
        }
    }

    /// <summary>
    /// Restores a full-storage snapshot into this catalog: every collection in it replaces the one of its name (others
    /// are kept) and its aliases are added. Meant for a server being set up, before it serves.
    /// </summary>
    public async ValueTask RestoreFullSnapshotAsync(string archivePath, CancellationToken cancellationToken)
    {
        var unpacked = Path.Combine(Snapshots.Root, ".incoming", $"full-{Guid.NewGuid():N}");
        try
        {
            var header = await Task.Run(() => SnapshotArchive.Extract(archivePath, unpacked, SnapshotArchive.StorageKind), cancellationToken).ConfigureAwait(false);
            string[] names;
            AliasAction[] aliases;
            try
            {
                names = [.. (header["collections"] as JsonArray ?? []).Select(n => n!.GetValue<string>())];
                aliases = [.. (header["aliases"] as JsonObject ?? []).Select(a => (AliasAction)new AliasAction.Create(a.Key, a.Value!.GetValue<string>()))];
            }
            catch (Exception ex) when (ex is InvalidOperationException or NullReferenceException or FormatException)
            {
                throw SnapshotArchive.Damaged($"its list of collections or aliases cannot be read ({ex.Message})");
            }

            // Checked before anything is replaced, so a snapshot whose aliases cannot apply changes nothing.
            foreach (var alias in aliases.Cast<AliasAction.Create>())
            {
                if (!names.Contains(alias.CollectionName, StringComparer.Ordinal) || names.Contains(alias.AliasName, StringComparer.Ordinal))
                    throw SnapshotArchive.Damaged($"alias `{alias.AliasName}` does not point at one of its collections");
                if (_collections.ContainsKey(alias.AliasName))
                    throw QuiverException.BadInput($"Wrong input: the snapshot's alias `{alias.AliasName}` is the name of an existing collection. Nothing was changed.");
            }

            foreach (var name in names)
                await RecoverSnapshotAsync(name, Path.Combine(unpacked, "collections", name + SnapshotStore.Extension), null, cancellationToken).ConfigureAwait(false);
            if (aliases.Length > 0)
                await ChangeAliasesAsync(aliases, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (Directory.Exists(unpacked))
                Directory.Delete(unpacked, recursive: true);
        }
    }

    private static string WriteCollection(Collection collection, SnapshotArchiveWriter writer)
    {
        var shards = new JsonArray();
        for (var i = 0; i < collection.Shards.Count; i++)
        {
            var prefix = string.Create(CultureInfo.InvariantCulture, $"shards/{i}/");
            var covered = collection.Shards[i].CopyStateTo((file, path) => writer.AddFile(prefix + file, path));
            shards.Add(new JsonObject { ["id"] = i, ["applied_sequence"] = covered });
        }

        return writer.Finish(new JsonObject
        {
            ["kind"] = SnapshotArchive.CollectionKind,
            ["collection"] = collection.Name,
            ["created"] = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture),
            ["config"] = collection.Config.Json.DeepClone(),
            ["shards"] = shards,
        });
    }

    private string WriteStorage(SnapshotArchiveWriter writer)
    {
        var names = new JsonArray();
        foreach (var name in CollectionNames)
        {
            var collection = _collections[name];
            var part = Snapshots.IncomingPath();
            try
            {
                using (var inner = new SnapshotArchiveWriter(part))
                    WriteCollection(collection, inner);
                writer.AddFile($"collections/{name}{SnapshotStore.Extension}", part);
                names.Add(name);
            }
            finally
            {
                File.Delete(part);
            }
        }

        var aliases = new JsonObject();
        foreach (var (alias, target) in Aliases.OrderBy(a => a.Key, StringComparer.Ordinal))
            aliases[alias] = target;
        return writer.Finish(new JsonObject
        {
            ["kind"] = SnapshotArchive.StorageKind,
            ["created"] = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture),
            ["collections"] = names,
            ["aliases"] = aliases,
        });
    }

    /// <summary>Extracts and verifies the snapshot into <paramref name="staging"/> and proves it loads there.</summary>
    private CollectionConfig PrepareRecovery(string name, string archivePath, string staging)
    {
        var header = SnapshotArchive.Extract(archivePath, staging, SnapshotArchive.CollectionKind);
        CollectionConfig config;
        try
        {
            config = CollectionConfig.FromPersisted(header["config"]?.DeepClone() as JsonObject ?? throw SnapshotArchive.Damaged("it has no collection config"));
            if (header["shards"] is not JsonArray shards || shards.Count != config.ShardNumber)
                throw SnapshotArchive.Damaged("its shard list does not match its config");
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or JsonException or InvalidCastException)
        {
            throw SnapshotArchive.Damaged($"its collection config cannot be read ({ex.Message})");
        }

        try
        {
            Collection.Open(name, staging, config, _options.Shards, _logger).DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is StorageCorruptionException or WalCorruptionException or InvalidDataException or EndOfStreamException
            or IOException or ArgumentException or InvalidCastException or InvalidOperationException or AggregateException)
        {
            throw SnapshotArchive.Damaged($"its data does not load ({ex.Message})");
        }

        WriteConfig(staging, config);
        return config;
    }

    private async ValueTask CommitRecoveryAsync(string name, string staging, CollectionConfig config)
    {
        if (Aliases.ContainsKey(name))
            throw QuiverException.BadInput($"Wrong input: Alias `{name}` already exists!");
        var dir = Path.Combine(CollectionsDir, name);
        var restored = Path.Combine(CollectionsDir, RestoredPrefix + name);
        if (Directory.Exists(restored))
            Directory.Delete(restored, recursive: true);
        // The commit point: from here start-up finishes the replacement (FinishRecoveries) if the process dies.
        Directory.Move(staging, restored);
        DirectorySync.Fsync(CollectionsDir);
        var trash = Path.Combine(CollectionsDir, "." + name + "." + Guid.NewGuid().ToString("N"));
        if (_collections.TryRemove(name, out var old))
            await old.DisposeAsync().ConfigureAwait(false);
        if (Directory.Exists(dir))
            Directory.Move(dir, trash);
        Directory.Move(restored, dir);
        DirectorySync.Fsync(CollectionsDir);
        _collections[name] = Collection.Open(name, dir, config, _options.Shards, _logger);
        if (Directory.Exists(trash))
            Directory.Delete(trash, recursive: true);
        EngineLog.CollectionRecovered(_logger, name);
    }

    /// <summary>Completes recoveries that reached their commit point before the process stopped.</summary>
    private void FinishRecoveries()
    {
        foreach (var restored in Directory.EnumerateDirectories(CollectionsDir, RestoredPrefix + "*"))
        {
            var name = Path.GetFileName(restored)[RestoredPrefix.Length..];
            if (name.Length == 0 || !File.Exists(Path.Combine(restored, "config.qcf")))
                continue;
            var dir = Path.Combine(CollectionsDir, name);
            if (Directory.Exists(dir))
                Directory.Move(dir, Path.Combine(CollectionsDir, "." + name + "." + Guid.NewGuid().ToString("N")));
            Directory.Move(restored, dir);
        }
    }
}
