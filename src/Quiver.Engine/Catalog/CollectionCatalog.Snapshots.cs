using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Quiver.Engine.Collections;
using Quiver.Engine.Internal;
using Quiver.Engine.Snapshots;
using Quiver.Segment.Errors;
using Quiver.Storage.Files;
using Quiver.Storage.Internal;

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
    private const string RestoredPrefix = ".restore-";
    private const string RestoreMarker = "restore-target.qrt";
    private const string RestoreMarkerKind = "QRST";

    public SnapshotStore Snapshots { get; }

    /// <summary>
    /// Runs snapshot work nobody waits for (a request with <c>wait=false</c>); shutdown waits for it. Failures go to
    /// <paramref name="onFailure"/>.
    /// </summary>
    public void RunInBackground(Func<Task> work, Action<Exception> onFailure)
    {
        ArgumentNullException.ThrowIfNull(work);
        ArgumentNullException.ThrowIfNull(onFailure);
        // Registered before it can run, so its own removal always finds it.
        var registered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task task = null!;
        task = Task.Run(async () =>
        {
            try
            {
                await registered.Task.ConfigureAwait(false);
                await work().ConfigureAwait(false);
            }
#pragma warning disable CA1031 // handed to the caller's logger: nobody awaits this task
            catch (Exception ex)
#pragma warning restore CA1031
            {
                onFailure(ex);
            }
            finally
            {
                lock (_background)
                    _background.Remove(task);
            }
        });
        lock (_background)
            _background.Add(task);
        registered.SetResult();
    }

    private Task[] BackgroundWork()
    {
        lock (_background)
            return [.. _background];
    }

    private void ThrowIfShuttingDown()
    {
        if (Volatile.Read(ref _disposed) != 0)
            throw new QuiverException(QuiverError.Unavailable("Service unavailable: the server is shutting down"));
    }

    /// <summary>Snapshots a collection (by name or alias) and returns the new file's description.</summary>
    public async ValueTask<SnapshotInfo> CreateSnapshotAsync(string nameOrAlias, CancellationToken cancellationToken)
    {
        // The gate keeps the collection from being deleted, replaced or reconfigured while it is copied.
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfShuttingDown();
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
            ThrowIfShuttingDown();
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
                throw QuiverException.BadInput($"Wrong input: snapshot checksum mismatch: the file's SHA-256 is not {expectedChecksum}. Nothing was changed.");
        }

        var staging = NewStagingDir();
        try
        {
            var config = await Task.Run(() => PrepareRecovery(name, archivePath, staging), cancellationToken).ConfigureAwait(false);
            await CommitRecoveriesAsync([(name, staging, config)], [], cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (Directory.Exists(staging))
                Directory.Delete(staging, recursive: true);
        }
    }

    /// <summary>
    /// Restores a full-storage snapshot into this catalog: every collection in it replaces the one of its name (others
    /// are kept) and its aliases are added. Every collection is extracted and proven to load before any is replaced.
    /// </summary>
    public async ValueTask RestoreFullSnapshotAsync(string archivePath, CancellationToken cancellationToken)
    {
        var unpacked = Snapshots.IncomingPath();
        var prepared = new List<(string Name, string Staging, CollectionConfig Config)>();
        var stagingDirs = new List<string>();
        try
        {
            var header = await Task.Run(() => SnapshotArchive.Extract(archivePath, unpacked, SnapshotArchive.StorageKind), cancellationToken).ConfigureAwait(false);
            var (names, aliases) = ReadStorageHeader(header, unpacked);
            foreach (var name in names)
            {
                var staging = NewStagingDir();
                stagingDirs.Add(staging);
                var config = await Task.Run(() => PrepareRecovery(name, Path.Combine(unpacked, "collections", name + SnapshotStore.Extension), staging), cancellationToken).ConfigureAwait(false);
                prepared.Add((name, staging, config));
            }

            await CommitRecoveriesAsync(prepared, aliases, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            foreach (var staging in stagingDirs)
            {
                if (Directory.Exists(staging))
                    Directory.Delete(staging, recursive: true);
            }

            if (Directory.Exists(unpacked))
                Directory.Delete(unpacked, recursive: true);
        }
    }

    private (string[] Names, AliasAction.Create[] Aliases) ReadStorageHeader(JsonObject header, string unpacked)
    {
        string[] names;
        AliasAction.Create[] aliases;
        try
        {
            names = [.. (header["collections"] as JsonArray ?? []).Select(n => n!.GetValue<string>())];
            aliases = [.. (header["aliases"] as JsonObject ?? []).Select(a => new AliasAction.Create(a.Key, a.Value!.GetValue<string>()))];
        }
        catch (Exception ex) when (ex is InvalidOperationException or NullReferenceException or FormatException)
        {
            throw SnapshotArchive.Damaged($"its list of collections or aliases cannot be read ({ex.Message})");
        }

        foreach (var name in names)
        {
            ValidateName(name);
            if (!File.Exists(Path.Combine(unpacked, "collections", name + SnapshotStore.Extension)))
                throw SnapshotArchive.Damaged($"collection `{name}` is listed but not in the archive");
        }

        if (names.Distinct(StringComparer.Ordinal).Count() != names.Length)
            throw SnapshotArchive.Damaged("a collection is listed twice");
        foreach (var alias in aliases)
        {
            if (!names.Contains(alias.CollectionName, StringComparer.Ordinal) || names.Contains(alias.AliasName, StringComparer.Ordinal))
                throw SnapshotArchive.Damaged($"alias `{alias.AliasName}` does not point at one of its collections");
        }

        return (names, aliases);
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

    private string NewStagingDir() => Path.Combine(CollectionsDir, $".staging-{Guid.NewGuid():N}");

    /// <summary>
    /// Extracts and verifies the snapshot into <paramref name="staging"/>, proves it loads there, and makes it
    /// durable. Anything wrong with it is BadInput naming the problem, never a server error.
    /// </summary>
    private CollectionConfig PrepareRecovery(string name, string archivePath, string staging)
    {
        var header = SnapshotArchive.Extract(archivePath, staging, SnapshotArchive.CollectionKind);
        CollectionConfig config;
        try
        {
            config = CollectionConfig.FromUntrusted(header["config"]?.DeepClone() as JsonObject ?? throw SnapshotArchive.Damaged("it has no collection config"));
        }
        catch (QuiverException ex) when (!ex.Error.Message.Contains("damaged", StringComparison.Ordinal))
        {
            throw SnapshotArchive.Damaged($"its collection config is not valid ({ex.Error.Message})");
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or JsonException or InvalidCastException)
        {
            throw SnapshotArchive.Damaged($"its collection config cannot be read ({ex.Message})");
        }

        if (header["shards"] is not JsonArray shards || shards.Count != config.ShardNumber)
            throw SnapshotArchive.Damaged("its shard list does not match its config");
        try
        {
            Collection.Open(name, staging, config, _options.Shards, _logger).DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
#pragma warning disable CA1031 // Whatever a crafted file makes loading throw, it is the file's fault: refused, not a server error.
        catch (Exception ex) when (ex is not OperationCanceledException)
#pragma warning restore CA1031
        {
            throw SnapshotArchive.Damaged($"its data does not load ({ex.Message.Replace(staging + Path.DirectorySeparatorChar, string.Empty, StringComparison.Ordinal)})");
        }

        WriteConfig(staging, config);
        foreach (var dir in Directory.EnumerateDirectories(staging, "*", SearchOption.AllDirectories).Append(staging))
            DirectorySync.Fsync(dir);
        return config;
    }

    /// <summary>
    /// Puts prepared recoveries in place, with <paramref name="aliases"/> added after them. Each is committed by
    /// renaming its staging folder to <c>.restore-{guid}</c> with a marker naming the collection (start-up finishes
    /// a commit the process did not); the collection it replaces is moved aside and deleted.
    /// </summary>
    private async ValueTask CommitRecoveriesAsync(IReadOnlyList<(string Name, string Staging, CollectionConfig Config)> prepared, AliasAction.Create[] aliases, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfShuttingDown();
            foreach (var (name, _, _) in prepared)
            {
                if (Aliases.ContainsKey(name))
                    throw QuiverException.BadInput($"Wrong input: `{name}` is an alias; recover into a collection name. Nothing was changed.");
            }

            foreach (var alias in aliases)
            {
                if (_collections.ContainsKey(alias.AliasName) && !prepared.Any(p => p.Name == alias.AliasName))
                    throw QuiverException.BadInput($"Wrong input: the snapshot's alias `{alias.AliasName}` is the name of an existing collection. Nothing was changed.");
            }

            foreach (var (name, staging, config) in prepared)
                await CommitRecoveryAsync(name, staging, config).ConfigureAwait(false);
            if (aliases.Length > 0)
            {
                var merged = new Dictionary<string, string>(Aliases, StringComparer.Ordinal);
                foreach (var alias in aliases)
                    merged[alias.AliasName] = alias.CollectionName;
                SaveAliases(merged);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private async ValueTask CommitRecoveryAsync(string name, string staging, CollectionConfig config)
    {
        var dir = Path.Combine(CollectionsDir, name);
        ChecksummedFile.WriteAtomic(Path.Combine(staging, RestoreMarker), RestoreMarkerKind, 1, s => s.Write(System.Text.Encoding.UTF8.GetBytes(name)));
        var committed = Path.Combine(CollectionsDir, $"{RestoredPrefix}{Guid.NewGuid():N}");
        // The commit point: from here start-up finishes the replacement (FinishRecoveries) if the process dies.
        Directory.Move(staging, committed);
        DirectorySync.Fsync(CollectionsDir);
        var trash = Path.Combine(CollectionsDir, $".trash-{Guid.NewGuid():N}");
        if (_collections.TryRemove(name, out var old))
            await old.DisposeAsync().ConfigureAwait(false);
        if (Directory.Exists(dir))
            Directory.Move(dir, trash);
        File.Delete(Path.Combine(committed, RestoreMarker));
        Directory.Move(committed, dir);
        DirectorySync.Fsync(CollectionsDir);
        _collections[name] = Collection.Open(name, dir, config, _options.Shards, _logger);
        if (Directory.Exists(trash))
            Directory.Delete(trash, recursive: true);
        EngineLog.CollectionRecovered(_logger, name);
    }

    /// <summary>Completes recoveries that reached their commit point before the process stopped.</summary>
    private void FinishRecoveries()
    {
        foreach (var committed in Directory.EnumerateDirectories(CollectionsDir, RestoredPrefix + "*"))
        {
            // Only folders this code made: the exact name shape and a readable marker (a trash folder has neither).
            var marker = Path.Combine(committed, RestoreMarker);
            if (!RestoredFolder().IsMatch(Path.GetFileName(committed)) || !File.Exists(marker))
                continue;
            string name;
            try
            {
                name = System.Text.Encoding.UTF8.GetString(ChecksummedFile.Read(marker, RestoreMarkerKind, 1).Body.Span);
                ValidateName(name);
            }
            catch (Exception ex) when (ex is StorageCorruptionException or QuiverException or IOException)
            {
                continue;
            }

            var dir = Path.Combine(CollectionsDir, name);
            if (Directory.Exists(dir))
                Directory.Move(dir, Path.Combine(CollectionsDir, $".trash-{Guid.NewGuid():N}"));
            File.Delete(marker);
            Directory.Move(committed, dir);
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex("^\\.restore-[0-9a-f]{32}$", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex RestoredFolder();
}
