using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Quiver.Engine.Catalog;
using Quiver.Engine.Collections;
using Quiver.Engine.Operations;
using Quiver.Engine.Shards;
using Quiver.Engine.Tests.Infrastructure;
using Quiver.Segment.Payloads;
using Quiver.Segment.Points;

namespace Quiver.Engine.Tests.Shards;

/// <summary>
/// The shard's side of the change stream: a cursor made at open, operations read back in order (from memory, and
/// from the log after a restart), the log kept until published and let go after, refusals once closed.
/// </summary>
public sealed class ChangeFeedTests : IDisposable
{
    private readonly TempDir _temp = new();

    public void Dispose() => _temp.Dispose();

    // Small log files, so flushes can drop whole ones.
    private CollectionCatalog Open(bool changeFeed) => CollectionCatalog.Open(new CatalogOptions
    {
        StoragePath = _temp.Path,
        Shards = new ShardOptions { Fsync = false, ChangeFeed = changeFeed, WalSegmentBytes = 4096, FlushInterval = TimeSpan.FromHours(1) },
    }, NullLogger.Instance);

    private static async Task<Collection> CreateAsync(CollectionCatalog catalog)
    {
        using var config = JsonDocument.Parse("""{"vectors":{"size":2,"distance":"Euclid"}}""");
        await catalog.CreateAsync("c", CollectionConfig.FromCreateRequest(config.RootElement), CancellationToken.None);
        return catalog.Get("c");
    }

    private static async Task<ulong> UpsertAsync(Collection collection, int id) =>
        (await collection.ApplyAsync(new UpsertPoints([new PointWrite(PointId.FromNumber((ulong)id), [new NamedVector(string.Empty, [id, 1])], Payload.Empty)]), wait: true, CancellationToken.None)).OperationId;

    private static ulong[] Ids(IReadOnlyList<(ulong Sequence, PointOperation Operation)> operations) =>
        [.. operations.Select(o => ulong.Parse(((UpsertPoints)o.Operation).Points[0].Id.ToString(), System.Globalization.CultureInfo.InvariantCulture))];

    [Fact]
    public async Task Operations_come_back_in_order_from_memory_and_from_the_log_after_a_restart()
    {
        var catalog = Open(changeFeed: true);
        var collection = await CreateAsync(catalog);
        var cursor = collection.ChangeFeedCursor(0) ?? throw new InvalidOperationException("no cursor");
        Assert.Equal(0UL, cursor.Published);
        for (var i = 1; i <= 200; i++)
            await UpsertAsync(collection, i);
        var read = collection.ReadAppliedOperations(0, 0, 50, long.MaxValue);
        Assert.Equal([.. Enumerable.Range(1, 50).Select(i => (ulong)i)], Ids(read));
        Assert.Equal([.. Enumerable.Range(1, 50).Select(i => (ulong)i)], read.Select(r => r.Sequence));
        collection.AdvanceChangeFeed(0, 50);
        // The byte bound stops a round early (but always gives one).
        Assert.Single(collection.ReadAppliedOperations(0, 50, 1000, 1));
        catalog.FlushAll();
        await catalog.DisposeAsync();

        // After a restart nothing is in memory: the rest comes from the log, which the flush kept from 51 on.
        catalog = Open(changeFeed: true);
        collection = catalog.Get("c");
        Assert.Equal(cursor with { Published = 50 }, collection.ChangeFeedCursor(0));
        var rest = collection.ReadAppliedOperations(0, 50, 1000, long.MaxValue);
        Assert.Equal([.. Enumerable.Range(51, 150).Select(i => (ulong)i)], Ids(rest));
        Assert.Equal(150, collection.ChangeFeedBacklog());
        await catalog.DisposeAsync();
    }

    [Fact]
    public async Task The_log_is_kept_until_published_then_let_go_and_the_stream_off_keeps_nothing()
    {
        var catalog = Open(changeFeed: true);
        var collection = await CreateAsync(catalog);
        for (var i = 1; i <= 300; i++)
            await UpsertAsync(collection, i);
        catalog.FlushAll();
        var kept = collection.Stats().WalBytes;
        Assert.True(kept > 4096 * 4, $"log of {kept} bytes should be kept whole until published");

        collection.AdvanceChangeFeed(0, 300);
        catalog.FlushAll();
        var afterPublish = collection.Stats().WalBytes;
        Assert.True(afterPublish < kept / 2, $"published: {afterPublish} bytes of log left of {kept}");
        for (var i = 301; i <= 600; i++)
            await UpsertAsync(collection, i);
        await catalog.DisposeAsync();

        // Turned off: the cursor is ignored and the log goes at the next flush.
        catalog = Open(changeFeed: false);
        collection = catalog.Get("c");
        Assert.Null(collection.ChangeFeedCursor(0));
        catalog.FlushAll();
        Assert.True(collection.Stats().WalBytes < afterPublish + 8192, $"{collection.Stats().WalBytes} bytes of log with the stream off");
        await catalog.DisposeAsync();
    }

    [Fact]
    public async Task A_closed_shard_refuses_to_move_its_cursor_and_a_new_collection_gets_a_new_incarnation()
    {
        var catalog = Open(changeFeed: true);
        var old = await CreateAsync(catalog);
        await UpsertAsync(old, 1);
        var oldCursor = old.ChangeFeedCursor(0)!.Value;
        Assert.True(await catalog.DeleteAsync("c", CancellationToken.None));
        var fresh = await CreateAsync(catalog);
        await UpsertAsync(fresh, 2);

        // A publisher still holding the deleted collection cannot write into the new one's folder.
        Assert.Throws<ObjectDisposedException>(() => old.AdvanceChangeFeed(0, 1));
        var cursor = fresh.ChangeFeedCursor(0)!.Value;
        Assert.Equal(0UL, cursor.Published);
        Assert.NotEqual(oldCursor.Incarnation, cursor.Incarnation);
        Assert.Single(fresh.ReadAppliedOperations(0, 0, 10, long.MaxValue));
        await catalog.DisposeAsync();
    }
}
