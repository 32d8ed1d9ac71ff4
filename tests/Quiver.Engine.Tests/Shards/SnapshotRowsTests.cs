using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Quiver.Engine.Catalog;
using Quiver.Engine.Collections;
using Quiver.Engine.Operations;
using Quiver.Engine.Shards;
using Quiver.Engine.Tests.Infrastructure;
using Quiver.Segment.Payloads;
using Quiver.Segment.Points;
using Quiver.Segment.Segments;

namespace Quiver.Engine.Tests.Shards;

/// <summary>Snapshots of rows: chunk files of append-only segments, and plain points of sparse named vectors.</summary>
public sealed class SnapshotRowsTests : IDisposable
{
    private static readonly SegmentVectorSpace[] Spaces = [new("v", 2, VectorMetric.NegSquaredL2)];
    private readonly TempDir _temp = new();

    public void Dispose() => _temp.Dispose();

    private static PointId Id(ulong n) => PointId.FromNumber(n);

    [Fact]
    public void A_deleted_row_with_a_stale_id_never_deletes_the_live_point_on_load()
    {
        // A plain segment reuses freed rows: point 10 comes back at row 3, while row 10 still holds its old id.
        var segment = new PointSegment(Spaces);
        for (ulong i = 0; i < 20; i++)
            segment.Upsert(Id(i), 1, [new NamedVector("v", [i, 0])], Payload.Empty);
        segment.Delete(Id(10), 2);
        segment.Delete(Id(3), 3);
        segment.Upsert(Id(10), 4, [new NamedVector("v", [100, 0])], Payload.Empty);
        Assert.True(segment.TryGetOffset(Id(10), out var row));
        Assert.Equal(3, row);
        segment.MakeAppendOnly();

        var path = Path.Combine(_temp.Path, "rows.qsn");
        ShardSnapshot.WriteSerialized(path, ShardSnapshot.Serialize(ShardSnapshot.CaptureRange(segment, 0, segment.UsedSlots)));
        var deleted = Enumerable.Range(0, segment.UsedSlots).Where(o => !segment.IsLiveAt(o)).ToHashSet();
        Assert.Equal([10], deleted);

        var loaded = new PointSegment(Spaces);
        loaded.MakeAppendOnly();
        ShardSnapshot.LoadRows(path, loaded, 0, deleted);
        Assert.Equal(19, loaded.LiveCount);
        Assert.True(loaded.TryGetOffset(Id(10), out var loadedRow));
        Assert.Equal(3, loadedRow);
        Assert.Equal([100f, 0f], loaded.VectorAt(loadedRow, 0).ToArray());
        Assert.False(loaded.TryGetOffset(Id(3), out _));
        Assert.False(loaded.IsLiveAt(10));
    }

    [Fact]
    public async Task Points_that_lack_a_rarely_used_named_vector_flush_and_reload()
    {
        var catalog = CollectionCatalog.Open(new CatalogOptions { StoragePath = _temp.Path, Shards = new() { Fsync = false } }, NullLogger.Instance);
        try
        {
            using (var doc = JsonDocument.Parse("""{"vectors":{"a":{"size":4,"distance":"Dot"},"b":{"size":4,"distance":"Dot"}},"optimizers_config":{"indexing_threshold":0}}"""))
                await catalog.CreateAsync("c", CollectionConfig.FromCreateRequest(doc.RootElement), default);
            var collection = catalog.Get("c");
            // More points than a vector store's first allocation, all without "b": its store never grows.
            var points = Enumerable.Range(0, 1500).Select(i => new PointWrite(Id((ulong)i), [new NamedVector("a", [i, 1, 0, 0])], Payload.Empty)).ToArray();
            await collection.ApplyAsync(new UpsertPoints(points), wait: true, default);
            await collection.ApplyAsync(new UpsertPoints([new PointWrite(Id(7), [new NamedVector("a", [1, 1, 1, 1]), new NamedVector("b", [2, 2, 2, 2])], Payload.Empty)]), wait: true, default);
            collection.Flush();
        }
        finally
        {
            await catalog.DisposeAsync();
        }

        catalog = CollectionCatalog.Open(new CatalogOptions { StoragePath = _temp.Path, Shards = new() { Fsync = false } }, NullLogger.Instance);
        try
        {
            var collection = catalog.Get("c");
            Assert.Equal(1500, collection.Count(null));
            var seven = collection.Get([Id(7)], Query.WithPayload.None, Query.WithVector.All);
            Assert.Equal(2, seven[0].Vectors!.Count);
        }
        finally
        {
            await catalog.DisposeAsync();
        }
    }
}
