using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Quiver.Engine.Catalog;
using Quiver.Engine.Collections;
using Quiver.Engine.Operations;
using Quiver.Engine.Snapshots;
using Quiver.Engine.Tests.Infrastructure;
using Quiver.Segment.Errors;
using Quiver.Segment.Payloads;
using Quiver.Segment.Points;

namespace Quiver.Engine.Tests.Catalog;

/// <summary>
/// Recovery refuses crafted snapshots (bad configs, a full snapshot with a broken member) before changing anything,
/// finishes a committed recovery after a crash, and never mistakes a deleted collection's trash for one.
/// </summary>
public sealed class SnapshotRecoveryTests : IDisposable
{
    private readonly TempDir _temp = new();

    public void Dispose() => _temp.Dispose();

    private CollectionCatalog Open() =>
        CollectionCatalog.Open(new CatalogOptions { StoragePath = _temp.Path, Shards = new() { Fsync = false } }, NullLogger.Instance);

    [Theory]
    [InlineData("""{"hnsw_config":{},"optimizer_config":{},"wal_config":{}}""", "params")]
    [InlineData("""{"params":{"vectors":{"size":4,"distance":"Dot"},"shard_number":0},"hnsw_config":{},"optimizer_config":{},"wal_config":{}}""", "shard_number")]
    [InlineData("""{"params":{"vectors":{"size":4,"distance":"Dot"},"shard_number":500},"hnsw_config":{},"optimizer_config":{},"wal_config":{}}""", "shard_number")]
    [InlineData("""{"params":{"vectors":{"size":2000000000,"distance":"Dot"},"shard_number":1},"hnsw_config":{},"optimizer_config":{},"wal_config":{}}""", "size")]
    [InlineData("""{"params":{"vectors":{"size":4,"distance":"Dot"},"shard_number":1},"hnsw_config":{"m":"many"},"optimizer_config":{},"wal_config":{}}""", "m")]
    [InlineData("""{"params":{"vectors":{"size":4,"distance":"Dot"}},"hnsw_config":{},"optimizer_config":{},"wal_config":{}}""", "shard_number")]
    public async Task A_snapshot_whose_config_a_create_request_would_refuse_is_refused(string config, string named)
    {
        var archive = Path.Combine(_temp.Path, "crafted.snapshot");
        WriteArchive(archive, JsonNode.Parse(config)!.AsObject(), shards: 1);
        var catalog = Open();
        try
        {
            var error = await Assert.ThrowsAsync<QuiverException>(async () => await catalog.RecoverSnapshotAsync("crafted", archive, null, default));
            Assert.Equal(ErrorKind.BadInput, error.Error.Kind);
            Assert.Contains("damaged", error.Error.Message, StringComparison.Ordinal);
            Assert.Contains(named, error.Error.Message, StringComparison.Ordinal);
            Assert.False(catalog.Exists("crafted"));
        }
        finally
        {
            await catalog.DisposeAsync();
        }

        // Nothing is left behind for a restart to pick up.
        var reopened = Open();
        Assert.Empty(reopened.CollectionNames);
        Assert.Empty(Directory.GetDirectories(Path.Combine(_temp.Path, "collections")));
        await reopened.DisposeAsync();
    }

    [Fact]
    public async Task A_full_snapshot_with_one_broken_collection_changes_no_collection()
    {
        var catalog = Open();
        try
        {
            await CreateAsync(catalog, "keep", 3);
            await CreateAsync(catalog, "other", 2);
            var full = await catalog.CreateFullSnapshotAsync(default);
            // Change both collections after the snapshot, then break "other" inside a copy of the snapshot.
            await UpsertAsync(catalog.Get("keep"), 10, 5);
            await UpsertAsync(catalog.Get("other"), 10, 5);
            var broken = Path.Combine(_temp.Path, "broken.snapshot");
            RewriteStorageArchive(catalog.Snapshots.PathOf(null, full.Name), broken, "collections/other.snapshot", Encoding.UTF8.GetBytes("not a snapshot"));

            var error = await Assert.ThrowsAsync<QuiverException>(async () => await catalog.RestoreFullSnapshotAsync(broken, default));
            Assert.Contains("damaged", error.Error.Message, StringComparison.Ordinal);
            Assert.Equal(8, catalog.Get("keep").Count(null));
            Assert.Equal(7, catalog.Get("other").Count(null));

            // The intact one restores both.
            await catalog.RestoreFullSnapshotAsync(catalog.Snapshots.PathOf(null, full.Name), default);
            Assert.Equal(3, catalog.Get("keep").Count(null));
            Assert.Equal(2, catalog.Get("other").Count(null));
        }
        finally
        {
            await catalog.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_collection_changed_by_patch_snapshots_and_recovers_with_its_config()
    {
        var catalog = Open();
        try
        {
            using (var doc = JsonDocument.Parse("""{"vectors":{"a":{"size":4,"distance":"Dot"},"b":{"size":2,"distance":"Euclid","hnsw_config":{"m":4}}},"hnsw_config":{"m":12}}"""))
                await catalog.CreateAsync("patched", CollectionConfig.FromCreateRequest(doc.RootElement), default);
            using (var patch = JsonDocument.Parse("""{"vectors":{"a":{"hnsw_config":{"m":6},"on_disk":true}},"optimizers_config":{"indexing_threshold":5},"hnsw_config":{"ef_construct":50}}"""))
                await catalog.UpdateAsync("patched", patch.RootElement, default);
            var snapshot = await catalog.CreateSnapshotAsync("patched", default);
            await catalog.RecoverSnapshotAsync("copy", catalog.Snapshots.PathOf("patched", snapshot.Name), snapshot.Checksum, default);
            Assert.Equal(catalog.Get("patched").Config.Json.ToJsonString(), catalog.Get("copy").Config.Json.ToJsonString());
            Assert.Equal(6, catalog.Get("copy").Config.HnswFor("a").M);
        }
        finally
        {
            await catalog.DisposeAsync();
        }
    }

    [Fact]
    public async Task Start_up_finishes_a_committed_recovery_and_ignores_trash_that_looks_like_one()
    {
        var catalog = Open();
        string snapshotPath;
        try
        {
            await CreateAsync(catalog, "target", 4);
            snapshotPath = catalog.Snapshots.PathOf("target", (await catalog.CreateSnapshotAsync("target", default)).Name);
            await UpsertAsync(catalog.Get("target"), 100, 3);
            await CreateAsync(catalog, "restore-0123456789abcdef0123456789abcdef", 1);
        }
        finally
        {
            await catalog.DisposeAsync();
        }

        var collections = Path.Combine(_temp.Path, "collections");
        // A deleted collection's trash (config and all) whose name a careless pattern would take for a recovery.
        Directory.Move(Path.Combine(collections, "restore-0123456789abcdef0123456789abcdef"), Path.Combine(collections, ".restore-0123456789abcdef0123456789abcdef." + Guid.NewGuid().ToString("N")));
        // A recovery that reached its commit point (staging renamed, marker written) before the process died.
        SimulateCommittedRecovery(collections, snapshotPath, "target");

        var reopened = Open();
        try
        {
            Assert.Equal(["target"], reopened.CollectionNames);
            Assert.Equal(4, reopened.Get("target").Count(null));
            Assert.Empty(Directory.GetDirectories(collections, ".*"));
        }
        finally
        {
            await reopened.DisposeAsync();
        }
    }

    /// <summary>What a recovery leaves when it dies right after its commit rename: a loaded-once copy under <c>.restore-{guid}</c> with its marker.</summary>
    private static void SimulateCommittedRecovery(string collections, string archive, string name)
    {
        var committed = Path.Combine(collections, $".restore-{Guid.NewGuid():N}");
        var header = SnapshotArchive.Extract(archive, committed, SnapshotArchive.CollectionKind);
        Storage.Files.ChecksummedFile.WriteAtomic(Path.Combine(committed, "config.qcf"), "QCFG", 1, s => s.Write(JsonSerializer.SerializeToUtf8Bytes(header["config"])));
        Storage.Files.ChecksummedFile.WriteAtomic(Path.Combine(committed, "restore-target.qrt"), "QRST", 1, s => s.Write(Encoding.UTF8.GetBytes(name)));
    }

    private static async Task CreateAsync(CollectionCatalog catalog, string name, int points)
    {
        using (var doc = JsonDocument.Parse("""{"vectors":{"size":4,"distance":"Dot"}}"""))
            await catalog.CreateAsync(name, CollectionConfig.FromCreateRequest(doc.RootElement), default);
        await UpsertAsync(catalog.Get(name), 0, points);
    }

    private static Task UpsertAsync(Collection collection, int first, int count) =>
        collection.ApplyAsync(new UpsertPoints([.. Enumerable.Range(first, count).Select(i => new PointWrite(PointId.FromNumber((ulong)i), [new NamedVector("", [i, 1, 2, 3])], Payload.Empty))]), wait: true, default).AsTask();

    private static void WriteArchive(string path, JsonObject config, int shards)
    {
        using var writer = new SnapshotArchiveWriter(path);
        writer.Finish(new JsonObject
        {
            ["kind"] = SnapshotArchive.CollectionKind,
            ["collection"] = "crafted",
            ["config"] = config,
            ["shards"] = new JsonArray([.. Enumerable.Range(0, shards).Select(i => (JsonNode)new JsonObject { ["id"] = i, ["applied_sequence"] = 0 })]),
        });
    }

    /// <summary>Copies a full-storage snapshot, replacing one member's bytes (the copy is consistently checksummed).</summary>
    private void RewriteStorageArchive(string source, string destination, string entry, byte[] replacement)
    {
        var unpacked = Path.Combine(_temp.Path, "unpacked-" + Guid.NewGuid().ToString("N"));
        var header = SnapshotArchive.Extract(source, unpacked, SnapshotArchive.StorageKind);
        File.WriteAllBytes(Path.Combine(unpacked, entry), replacement);
        using var writer = new SnapshotArchiveWriter(destination);
        foreach (var name in header["collections"]!.AsArray().Select(n => n!.GetValue<string>()))
            writer.AddFile($"collections/{name}.snapshot", Path.Combine(unpacked, "collections", name + ".snapshot"));
        header.Remove("files");
        header.Remove("format");
        header.Remove("version");
        writer.Finish(header);
    }
}
