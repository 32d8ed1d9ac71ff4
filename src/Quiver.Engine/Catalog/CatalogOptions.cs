using Quiver.Engine.Shards;

namespace Quiver.Engine.Catalog;

public sealed record CatalogOptions
{
    /// <summary>Root folder of all persisted state.</summary>
    public required string StoragePath { get; init; }

    /// <summary>Folder of snapshot files; null: <c>{StoragePath}/snapshots</c>.</summary>
    public string? SnapshotsPath { get; init; }

    public ShardOptions Shards { get; init; } = new();

    /// <summary>
    /// Cluster mode's host: shard logs on JetStream, collections agreed in its metadata store. Null: a single node,
    /// with local write-ahead logs and the collections found under <see cref="StoragePath"/>.
    /// </summary>
    public IClusterHost? Cluster { get; init; }
}
