using Quiver.Engine.Catalog;
using Quiver.Engine.Collections;

namespace Quiver.Server.Cluster;

/// <summary>
/// Set on a request another node forwarded as its part of a scatter-gather read: the shards this node is to read
/// (header <see cref="ClusterRouter.ShardsHeader"/>).
/// </summary>
internal sealed record ShardSubset(IReadOnlyList<int> Shards);

internal static class ShardSubsetExtensions
{
    /// <summary>The collection a read runs over: a view of the forwarded shards, or the whole collection held here.</summary>
    public static Collection ForRead(this CollectionCatalog catalog, HttpContext http, string name)
    {
        var collection = catalog.Get(name);
        return http.Features.Get<ShardSubset>() is { } subset ? collection.View(subset.Shards) : collection;
    }
}
