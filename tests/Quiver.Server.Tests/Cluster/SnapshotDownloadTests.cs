using System.Globalization;
using NATS.Client.JetStream;
using NATS.Client.ObjectStore;
using NATS.Client.ObjectStore.Models;
using Quiver.Cluster.Internal;
using Quiver.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Quiver.Server.Tests.Cluster;

/// <summary>
/// Snapshot reads against a real nats-server while another writer keeps replacing the snapshot, as the shard's first
/// replica does every snapshot interval: storing a version purges the chunks of the one before.
/// </summary>
public sealed class SnapshotDownloadTests(NatsFixture fixture, ITestOutputHelper output) : IClassFixture<NatsFixture>
{
    private readonly NatsServer _nats = fixture.Server;

    // Three chunks of the store's 128 KiB, so a read spans several messages; the bytes name their version.
    private static byte[] Version(int version)
    {
        var bytes = new byte[300_000];
        new Random(version).NextBytes(bytes);
        BitConverter.TryWriteBytes(bytes, version);
        return bytes;
    }

    [Fact]
    public async Task Reads_finish_with_a_whole_version_while_the_object_is_replaced_again_and_again()
    {
        await using var connection = await _nats.ConnectAsync();
        var store = await new NatsObjContext(new NatsJSContext(connection)).CreateObjectStoreAsync(new NatsObjConfig($"SNAPTEST_{Guid.NewGuid():N}"));
        const string key = "incarnation/3";
        await Put(0);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(6));
        var versions = 1;
        var writer = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
                await Put(versions++);
        });

        var file = Path.Combine(Path.GetTempPath(), $"quiver-snapshot-test-{Guid.NewGuid():N}");
        var reads = 0;
        var retries = 0;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                // A read that never finishes fails here rather than hanging the run.
                using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                var meta = await SnapshotDownload.GetAsync(store, key, file, TimeSpan.FromMilliseconds(500), 100, _ => retries++, bound.Token);
                var version = int.Parse(meta.Description!, CultureInfo.InvariantCulture);
                Assert.Equal(Version(version), await File.ReadAllBytesAsync(file));
                reads++;
            }
        }
        finally
        {
            File.Delete(file);
        }

        await writer;
        output.WriteLine($"{reads} reads while {versions} versions were stored; {retries} reads started over");
        Assert.True(reads >= 10, $"only {reads} reads finished");
        Assert.True(versions >= 20, $"only {versions} versions were stored");
        // The race this is about happened: without starting over, those reads would have waited forever.
        Assert.True(retries > 0, "no read was cut short by a replacement");

        async Task Put(int version) =>
            await store.PutAsync(new ObjectMetadata { Name = key, Description = version.ToString(CultureInfo.InvariantCulture) }, new MemoryStream(Version(version)));
    }

    [Fact]
    public async Task A_missing_snapshot_is_not_found_at_once()
    {
        await using var connection = await _nats.ConnectAsync();
        var store = await new NatsObjContext(new NatsJSContext(connection)).CreateObjectStoreAsync(new NatsObjConfig($"SNAPTEST_{Guid.NewGuid():N}"));
        var file = Path.Combine(Path.GetTempPath(), $"quiver-snapshot-test-{Guid.NewGuid():N}");
        var started = System.Diagnostics.Stopwatch.StartNew();
        // Not a stall to wait out and retry: a missing object is reported by the first attempt.
        await Assert.ThrowsAsync<NatsObjNotFoundException>(() => SnapshotDownload.GetAsync(store, "none/0", file, TimeSpan.FromSeconds(30), 3, null, CancellationToken.None));
        File.Delete(file);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(25), $"took {started.Elapsed}");
    }
}
