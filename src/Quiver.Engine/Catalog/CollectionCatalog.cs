using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Quiver.Engine.Collections;
using Quiver.Engine.Internal;
using Quiver.Engine.Snapshots;
using Quiver.Segment.Errors;
using Quiver.Storage.Files;

namespace Quiver.Engine.Catalog;

/// <summary>
/// The node's collections and aliases. Layout: <c>{storage}/collections/{name}/config.qcf</c> and
/// <c>shards/{i}/</c>; <c>{storage}/aliases.qal</c>. Structural changes are serialised by one gate; reads are lock-free.
/// </summary>
public sealed partial class CollectionCatalog : IAsyncDisposable
{
    private const string ConfigKind = "QCFG";
    private const string AliasKind = "QALS";
    private readonly CatalogOptions _options;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, Collection> _collections = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly HashSet<Task> _background = [];
    private int _disposed;
    private Dictionary<string, string> _aliases = new(StringComparer.Ordinal);

    private CollectionCatalog(CatalogOptions options, ILogger logger)
    {
        _options = options;
        _logger = logger;
        Snapshots = new SnapshotStore(options.SnapshotsPath ?? Path.Combine(options.StoragePath, "snapshots"));
    }

    private string CollectionsDir => Path.Combine(_options.StoragePath, "collections");

    private string AliasesPath => Path.Combine(_options.StoragePath, "aliases.qal");

    /// <summary>Loads every collection under the storage path, recovering each shard from its log.</summary>
    public static CollectionCatalog Open(CatalogOptions options, ILogger logger)
    {
        var catalog = new CollectionCatalog(options, logger);
        try
        {
            catalog.LoadAll();
        }
        catch
        {
            // Release what was opened (log files and their writer threads) before reporting the failure.
            catalog.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }

        return catalog;
    }

    private void LoadAll()
    {
        Directory.CreateDirectory(CollectionsDir);
        // In cluster mode the metadata store says which collections exist; their folders are kept as a cache of
        // the replicas' state and reopened when the cluster attaches them.
        if (_options.Cluster is not null)
            return;
        FinishRecoveries();
        foreach (var dir in Directory.EnumerateDirectories(CollectionsDir))
        {
            var name = Path.GetFileName(dir);
            if (name.StartsWith('.'))
            {
                // A collection whose deletion was interrupted.
                Directory.Delete(dir, recursive: true);
                continue;
            }

            var configPath = Path.Combine(dir, "config.qcf");
            if (!File.Exists(configPath))
            {
                // A creation that never finished: nothing was acknowledged in it.
                Directory.Delete(dir, recursive: true);
                continue;
            }

            var config = CollectionConfig.FromPersisted((JsonObject)JsonNode.Parse(ChecksummedFile.Read(configPath, ConfigKind, 1).Body.Span)!);
            _collections[name] = Collection.Open(name, dir, config, _options.Shards, _logger);
            EngineLog.CollectionLoaded(_logger, name, config.ShardNumber);
        }

        if (File.Exists(AliasesPath))
        {
            var body = ChecksummedFile.Read(AliasesPath, AliasKind, 1).Body;
            _aliases = JsonSerializer.Deserialize(body.Span, EngineJsonContext.Default.DictionaryStringString)
                ?? new Dictionary<string, string>(StringComparer.Ordinal);
        }
    }

    public IReadOnlyList<string> CollectionNames => [.. _collections.Keys.Order(StringComparer.Ordinal)];

    public IReadOnlyDictionary<string, string> Aliases => Volatile.Read(ref _aliases);

    /// <summary>Finds a collection by name or alias.</summary>
    public Collection Get(string nameOrAlias) =>
        TryGet(nameOrAlias) ?? throw QuiverException.NotFound($"Not found: Collection `{nameOrAlias}` doesn't exist!");

    public Collection? TryGet(string nameOrAlias)
    {
        if (_collections.TryGetValue(nameOrAlias, out var c))
            return c;
        return Aliases.TryGetValue(nameOrAlias, out var target) && _collections.TryGetValue(target, out c) ? c : null;
    }

    public bool Exists(string nameOrAlias) => TryGet(nameOrAlias) is not null;

    public async ValueTask CreateAsync(string name, CollectionConfig config, CancellationToken cancellationToken)
    {
        ValidateName(name);
        if (_options.Cluster is { } cluster)
        {
            if (Exists(name))
                throw QuiverException.BadInput($"Wrong input: Collection `{name}` already exists!");
            await cluster.CreateCollectionAsync(name, config, cancellationToken).ConfigureAwait(false);
            return;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_collections.ContainsKey(name))
                throw QuiverException.BadInput($"Wrong input: Collection `{name}` already exists!");
            if (Aliases.ContainsKey(name))
                throw QuiverException.BadInput($"Wrong input: Alias `{name}` already exists!");
            var dir = Path.Combine(CollectionsDir, name);
            if (Directory.Exists(dir))
                Directory.Delete(dir, recursive: true);
            Directory.CreateDirectory(dir);
            var collection = Collection.Open(name, dir, config, _options.Shards, _logger);
            // The config file is the commit point: a folder without it is discarded at start-up.
            WriteConfig(dir, config);
            _collections[name] = collection;
            EngineLog.CollectionCreated(_logger, name);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask UpdateAsync(string nameOrAlias, JsonElement patch, CancellationToken cancellationToken)
    {
        if (_options.Cluster is { } cluster)
        {
            var current = Get(nameOrAlias);
            // Applied to the configuration the cluster holds, so two nodes' changes at once cannot overwrite each other.
            var change = patch.Clone();
            await cluster.UpdateCollectionAsync(current.Name, config => config.ApplyUpdate(change), cancellationToken).ConfigureAwait(false);
            return;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var collection = Get(nameOrAlias);
            var updated = collection.Config.ApplyUpdate(patch);
            WriteConfig(collection.Directory, updated);
            collection.ReplaceConfig(updated);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Deletes a collection and the aliases pointing at it. Returns false when it did not exist.</summary>
    public async ValueTask<bool> DeleteAsync(string nameOrAlias, CancellationToken cancellationToken)
    {
        if (_options.Cluster is { } cluster)
            return await cluster.DeleteCollectionAsync(TryGet(nameOrAlias)?.Name ?? nameOrAlias, cancellationToken).ConfigureAwait(false);
        return await DropAsync(nameOrAlias, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Cluster mode: opens a collection the cluster agreed on (its replicas here replay their logs), or applies a
    /// changed configuration to one already open. Called by the cluster host for every node, the creating one too.
    /// </summary>
    public async ValueTask AttachAsync(string name, CollectionConfig config, string incarnation, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // One folder per incarnation (a collection resharded onto new logs, or deleted and created again, is a new
            // one): its local state belongs to its own logs, and a new incarnation opens beside the old one.
            var dir = Path.Combine(CollectionsDir, $"{name}@{incarnation}");
            Collection? replaced = null;
            if (_collections.TryGetValue(name, out var open))
            {
                if (open.Incarnation == incarnation)
                {
                    if (!JsonNode.DeepEquals(open.Config.Json, config.Json))
                    {
                        WriteConfig(dir, config);
                        open.ReplaceConfig(config);
                    }

                    return;
                }

                replaced = open;
            }

            Directory.CreateDirectory(dir);
            var collection = Collection.Open(name, dir, config, _options.Shards, _logger, _options.Cluster, incarnation);
            WriteConfig(dir, config);
            // The switch is one assignment: requests find the old incarnation or the new one, never none.
            _collections[name] = collection;
            collection.MarkServing();
            EngineLog.CollectionCreated(_logger, name);
            if (replaced is not null)
            {
                // Closed in the background: requests that still hold it finish on it, and a slow close (its log
                // followers stopping) must not hold up the catalog and the cluster's sync.
                EngineLog.CollectionReplaced(_logger, name, incarnation);
                RunInBackground(
                    async () =>
                    {
                        await replaced.DisposeAsync().ConfigureAwait(false);
                        Directory.Delete(replaced.Directory, recursive: true);
                    },
                    ex => EngineLog.FlushFailed(_logger, ex, replaced.Directory));
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Cluster mode: removes the folders of collections that are not open (deleted while this node was away). Called
    /// once the cluster has attached every collection it holds.
    /// </summary>
    public async ValueTask PruneDetachedFoldersAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var open = _collections.Values.Select(c => Path.GetFullPath(c.Directory)).ToHashSet(StringComparer.Ordinal);
            foreach (var dir in Directory.EnumerateDirectories(CollectionsDir))
            {
                if (!open.Contains(Path.GetFullPath(dir)))
                    Directory.Delete(dir, recursive: true);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Cluster mode: closes a collection the cluster deleted and removes its local state.</summary>
    public ValueTask<bool> DetachAsync(string name, CancellationToken cancellationToken) => DropAsync(name, cancellationToken);

    private async ValueTask<bool> DropAsync(string nameOrAlias, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var collection = TryGet(nameOrAlias);
            if (collection is null)
                return false;
            _collections.TryRemove(collection.Name, out _);
            var aliases = new Dictionary<string, string>(Aliases, StringComparer.Ordinal);
            foreach (var (alias, target) in Aliases)
            {
                if (target == collection.Name)
                    aliases.Remove(alias);
            }

            if (aliases.Count != Aliases.Count)
                SaveAliases(aliases);
            await collection.DisposeAsync().ConfigureAwait(false);
            // Rename first so a crash mid-delete leaves a folder start-up knows to discard.
            var trash = Path.Combine(CollectionsDir, "." + collection.Name + "." + Guid.NewGuid().ToString("N"));
            Directory.Move(collection.Directory, trash);
            Directory.Delete(trash, recursive: true);
            // Its snapshots go with it: a later collection of the same name must not expose them.
            Snapshots.DeleteAll(collection.Name);
            EngineLog.CollectionDeleted(_logger, collection.Name);
            return true;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Applies alias actions atomically: all of them or none.</summary>
    public async ValueTask ChangeAliasesAsync(IReadOnlyList<AliasAction> actions, CancellationToken cancellationToken)
    {
        if (_options.Cluster is not null)
            throw QuiverException.BadInput("Wrong input: aliases are not available in cluster mode yet");
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var aliases = new Dictionary<string, string>(Aliases, StringComparer.Ordinal);
            foreach (var action in actions)
            {
                switch (action)
                {
                    case AliasAction.Create create:
                        if (!_collections.ContainsKey(create.CollectionName))
                            throw QuiverException.NotFound($"Not found: Collection `{create.CollectionName}` doesn't exist!");
                        if (_collections.ContainsKey(create.AliasName))
                            throw QuiverException.BadInput($"Wrong input: Collection `{create.AliasName}` already exists!");
                        aliases[create.AliasName] = create.CollectionName;
                        break;
                    case AliasAction.Delete delete:
                        if (!aliases.Remove(delete.AliasName))
                            throw QuiverException.NotFound($"Not found: Alias {delete.AliasName} does not exists!");
                        break;
                    case AliasAction.Rename rename:
                        if (!aliases.Remove(rename.OldAliasName, out var target))
                            throw QuiverException.NotFound($"Not found: Alias {rename.OldAliasName} does not exists!");
                        aliases[rename.NewAliasName] = target;
                        break;
                }
            }

            SaveAliases(aliases);
        }
        finally
        {
            _gate.Release();
        }
    }

    public void FlushAll()
    {
        foreach (var collection in _collections.Values)
            collection.Flush();
    }

    public async ValueTask DisposeAsync()
    {
        // Idempotent, as DisposeAsync should be: a second call (a caller's finally after an earlier shutdown) is a no-op.
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        // Snapshot work started in the background finishes (or sees the shutdown and stops) first.
        await Task.WhenAll(BackgroundWork()).ConfigureAwait(false);
        await _gate.WaitAsync().ConfigureAwait(false);
        List<Exception>? errors = null;
        foreach (var collection in _collections.Values)
        {
            try
            {
                await collection.DisposeAsync().ConfigureAwait(false);
            }
#pragma warning disable CA1031 // collected and rethrown below, after every collection had its chance to flush
            catch (Exception ex)
#pragma warning restore CA1031
            {
                (errors ??= []).Add(ex);
            }
        }

        _collections.Clear();
        _gate.Release();
        _gate.Dispose();
        if (errors is not null)
            throw new AggregateException("closing collections failed", errors);
    }

    private void SaveAliases(Dictionary<string, string> aliases)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(aliases, EngineJsonContext.Default.DictionaryStringString);
        ChecksummedFile.WriteAtomic(AliasesPath, AliasKind, 1, s => s.Write(body));
        Volatile.Write(ref _aliases, aliases);
    }

    private static void WriteConfig(string dir, CollectionConfig config)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(config.Json, EngineJsonContext.Default.JsonObject);
        ChecksummedFile.WriteAtomic(Path.Combine(dir, "config.qcf"), ConfigKind, 1, s => s.Write(body));
    }

    private static void ValidateName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 255 || name.StartsWith('.')
            || name.IndexOfAny(['/', '\\', '\0', ':', '*', '?', '"', '<', '>', '|']) >= 0)
        {
            throw QuiverException.BadInput($"Wrong input: collection name `{name}` is invalid: use 1 to 255 characters, none of / \\ : * ? \" < > | and not starting with a dot");
        }
    }
}
