using Grpc.Core;
using Quiver.Server.Security;

namespace Quiver.Server.Grpc;

/// <summary>
/// What a gRPC call's credential allows, by method and by the collection its message names. The key itself is
/// checked by <see cref="ApiKeyAccess"/> before the call starts (the same keys and JWTs as REST); this decides, with
/// the message in hand, as REST decides with its route.
/// </summary>
internal static class GrpcAccess
{
    /// <summary>Methods that only read; every other method writes.</summary>
    private static readonly HashSet<string> Reads = new(StringComparer.Ordinal)
    {
        "qdrant.Qdrant/HealthCheck",
        "qdrant.Collections/Get", "qdrant.Collections/List", "qdrant.Collections/ListCollectionAliases", "qdrant.Collections/ListAliases",
        "qdrant.Collections/CollectionExists", "qdrant.Collections/CollectionClusterInfo", "qdrant.Collections/ListShardKeys",
        "qdrant.Points/Get", "qdrant.Points/Search", "qdrant.Points/SearchBatch", "qdrant.Points/SearchGroups", "qdrant.Points/Scroll",
        "qdrant.Points/Recommend", "qdrant.Points/RecommendBatch", "qdrant.Points/RecommendGroups", "qdrant.Points/Discover",
        "qdrant.Points/DiscoverBatch", "qdrant.Points/Count", "qdrant.Points/Query", "qdrant.Points/QueryBatch", "qdrant.Points/QueryGroups",
        "qdrant.Points/Facet", "qdrant.Points/SearchMatrixPairs", "qdrant.Points/SearchMatrixOffsets",
        "qdrant.Snapshots/List", "qdrant.Snapshots/ListFull",
    };

    /// <summary>Creating, changing or deleting collections and aliases: global manage access only.</summary>
    private static readonly HashSet<string> Manage = new(StringComparer.Ordinal)
    {
        "qdrant.Collections/Create", "qdrant.Collections/Update", "qdrant.Collections/Delete", "qdrant.Collections/UpdateAliases",
        "qdrant.Collections/UpdateCollectionClusterSetup", "qdrant.Collections/CreateShardKey", "qdrant.Collections/DeleteShardKey",
    };

    /// <summary>Reads a per-collection grant may make without naming a collection (their answers are filtered).</summary>
    private static readonly HashSet<string> ScopedGlobalReads = new(StringComparer.Ordinal)
    {
        "qdrant.Qdrant/HealthCheck", "qdrant.Collections/List", "qdrant.Collections/ListAliases",
    };

    public static AccessGrant? Grant(ServerCallContext call) => call.GetHttpContext().Features.Get<AccessGrant>();

    public static void Authorize(ServerCallContext call, Engine.Catalog.CollectionCatalog catalog, string method, string? collectionName)
    {
        if (Grant(call) is not { Manage: false } grant)
            return;
        if (Manage.Contains(method))
            throw Denied("this operation needs global manage access");
        var write = !Reads.Contains(method);
        if (string.IsNullOrEmpty(collectionName))
        {
            if (grant.ReadAll)
            {
                if (write)
                    throw Denied("the read-only API key cannot call write methods");
                return;
            }

            if (!write && ScopedGlobalReads.Contains(method))
                return;
            throw Denied("this operation needs global access");
        }

        var collection = catalog.TryGet(collectionName)?.Name ?? collectionName;
        if (write && !grant.CanWrite(collection))
            throw Denied(grant.ReadAll ? "the read-only API key cannot call write methods" : $"no write access to `{collectionName}`");
        if (!write && !grant.CanRead(collection))
            throw Denied($"no access to `{collectionName}`");
    }

    private static RpcException Denied(string why) => new(new Status(StatusCode.PermissionDenied, $"Forbidden: {why}"));
}
