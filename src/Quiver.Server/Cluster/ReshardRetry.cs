using Quiver.Engine.Catalog;
using Quiver.Engine.Collections;
using Quiver.Segment.Errors;
using Quiver.Storage.Wal;

namespace Quiver.Server.Cluster;

/// <summary>
/// Writes that meet a resharding's cut-over: a log sealed under the write means the collection moved to new logs.
/// Nothing of the refused part was stored, so the write waits for this node to open the new layout and runs again
/// there (parts stored before the seal are copied over and applied again, which point writes allow).
/// </summary>
internal static class ReshardRetry
{
    private static readonly TimeSpan SwitchTimeout = TimeSpan.FromSeconds(60);

    public static async ValueTask<T> WriteAsync<T>(CollectionCatalog catalog, string name, Func<Collection, ValueTask<T>> write, CancellationToken cancellationToken)
    {
        var collection = catalog.Get(name);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await write(collection).ConfigureAwait(false);
            }
            catch (ShardLogSealedException) when (attempt < 4)
            {
                var waited = System.Diagnostics.Stopwatch.StartNew();
                while (ReferenceEquals(catalog.TryGet(name), collection))
                {
                    if (waited.Elapsed > SwitchTimeout)
                        throw QuiverException.Unavailable($"Service unavailable: `{name}` is being resharded and its new layout is not open here yet; retry the write");
                    await Task.Delay(50, cancellationToken).ConfigureAwait(false);
                }

                collection = catalog.Get(name);
            }
        }
    }
}
