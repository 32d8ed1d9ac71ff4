using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Quiver.Engine.Catalog;
using Quiver.Engine.Collections;
using Quiver.Engine.Operations;
using Quiver.Engine.Query;
using Quiver.Engine.Tests.Infrastructure;
using Quiver.Segment.Payloads;
using Quiver.Segment.Points;

namespace Quiver.Engine.Tests.Shards;

/// <summary>
/// A snapshot copies a shard's files while writes go on: with the copy held still half-way, writes are still
/// acknowledged and visible, and the copied files load as exactly the state from before those writes.
/// </summary>
public sealed class ShardCopyTests : IDisposable
{
    private const int Dim = 6;
    private readonly TempDir _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task A_copy_in_progress_blocks_no_write_and_captures_the_state_it_started_from()
    {
        var catalog = CollectionCatalog.Open(new CatalogOptions { StoragePath = Path.Combine(_temp.Path, "a"), Shards = new() { Fsync = false } }, NullLogger.Instance);
        try
        {
            using (var doc = JsonDocument.Parse("""{"vectors":{"size":6,"distance":"Euclid"},"optimizers_config":{"indexing_threshold":1},"hnsw_config":{"m":8,"ef_construct":32}}"""))
                await catalog.CreateAsync("c", CollectionConfig.FromCreateRequest(doc.RootElement), default);
            var collection = catalog.Get("c");
            var random = new Random(5);
            var before = Enumerable.Range(0, 400).Select(i => Point(random, (ulong)i)).ToArray();
            await collection.ApplyAsync(new UpsertPoints(before), wait: true, default);

            var copyDir = Path.Combine(_temp.Path, "copy", "shards", "0");
            Directory.CreateDirectory(copyDir);
            using var halfway = new ManualResetEventSlim();
            using var resume = new ManualResetEventSlim();
            var copied = 0;
            var copy = Task.Run(() => collection.Shards[0].CopyStateTo((name, path) =>
            {
                File.Copy(path, Path.Combine(copyDir, name));
                if (++copied == 1)
                {
                    halfway.Set();
                    resume.Wait(TimeSpan.FromSeconds(30));
                }
            }));
            Assert.True(halfway.Wait(TimeSpan.FromSeconds(30)), "the copy never started");

            // The copy is stopped inside the flush gate: writes are acknowledged and readable meanwhile.
            var during = Enumerable.Range(400, 50).Select(i => Point(random, (ulong)i)).ToArray();
            var write = collection.ApplyAsync(new UpsertPoints(during), wait: true, default).AsTask();
            Assert.Same(write, await Task.WhenAny(write, Task.Delay(TimeSpan.FromSeconds(20))));
            await collection.ApplyAsync(new DeletePoints(PointSelector.ByIds([PointId.FromNumber(0)])), wait: true, default);
            Assert.Equal(449, collection.Count(null));

            resume.Set();
            var covered = await copy;
            Assert.True(covered >= 1, $"covered sequence {covered}");

            // The copied files are a shard holding exactly the first 400 points.
            var restored = Collection.Open("copy", Path.Combine(_temp.Path, "copy"), collection.Config, new() { Fsync = false }, NullLogger.Instance);
            try
            {
                Assert.Equal(400, restored.Count(null));
                var got = restored.Get([.. before.Select(p => p.Id)], WithPayload.None, WithVector.All);
                Assert.Equal(400, got.Count);
                foreach (var (expected, actual) in before.Zip(got.OrderBy(p => p.Id.Number)))
                    Assert.Equal(expected.Vectors[0].Values, actual.Vectors![0].Values);
                Assert.Empty(restored.Get([.. during.Select(p => p.Id)], WithPayload.None, WithVector.None));
            }
            finally
            {
                await restored.DisposeAsync();
            }
        }
        finally
        {
            await catalog.DisposeAsync();
        }
    }

    private static PointWrite Point(Random random, ulong id) =>
        new(PointId.FromNumber(id), [new NamedVector("", [.. Enumerable.Range(0, Dim).Select(_ => (float)random.NextDouble())])], Payload.Empty);
}
