using Quiver.Engine.Shards;

namespace Quiver.Engine.Catalog;

public sealed record CatalogOptions
{
    /// <summary>Root folder of all persisted state.</summary>
    public required string StoragePath { get; init; }

    /// <summary>Folder of snapshot files; null: <c>{StoragePath}/snapshots</c>.</summary>
    public string? SnapshotsPath { get; init; }

    public ShardOptions Shards { get; init; } = new();
}
