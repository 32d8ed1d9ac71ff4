using Quiver.Engine.Shards;

namespace Quiver.Engine.Catalog;

public sealed record CatalogOptions
{
    /// <summary>Root folder of all persisted state.</summary>
    public required string StoragePath { get; init; }

    public ShardOptions Shards { get; init; } = new();
}
