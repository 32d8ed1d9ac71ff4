using Microsoft.Extensions.Logging.Abstractions;
using Quiver.Engine.Catalog;

namespace Quiver.Engine.Tests.Infrastructure;

internal static class TestCatalogs
{
    /// <summary>A catalog over the folder (fsync off: tests restart catalogs, they do not crash machines).</summary>
    public static CollectionCatalog OpenCatalog(this TempDir dir) =>
        CollectionCatalog.Open(new CatalogOptions { StoragePath = dir.Path, Shards = new() { Fsync = false } }, NullLogger.Instance);
}
