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
public sealed class SnapshotDownloadTests(NatsFixture fixture, ITestOutputHelper output) : IClassFixture<NatsFixture>, IAsyncLifetime
{
    private readonly NatsServer _nats = fixture.Server;
    private readonly List<NATS.Client.Core.NatsConnection> _connections = [];

    // Three chunks of the store's 128 KiB, so a read spans several messages; the bytes name their version.
    private static byte[] Version(int version)
    {
        var bytes = new byte[300_000];
        new Random(version).NextBytes(bytes);
        BitConverter.TryWriteBytes(bytes, version);
        return bytes;
    }

    [Fact]
    public async Task A_read_whose_version_was_purged_mid_read_starts_over_on_the_new_version()
    {
        var (store, js, bucket) = await StoreAsync();
        const string key = "incarnation/0";
        var first = await PutAsync(store, key, 1);
        // What storing the next version does to the one a read has started on: its chunks are gone.
        await PurgeChunksAsync(js, bucket, first);
        var reasons = new List<string>();
        var file = TempFile();
        try
        {
            var meta = await SnapshotDownload.GetAsync(store, key, file, TimeSpan.FromMilliseconds(300), 3, reason =>
            {
                reasons.Add(reason);
                // The next version lands while this read waits.
                PutAsync(store, key, 2).GetAwaiter().GetResult();
            }, CancellationToken.None);
            Assert.Equal("2", meta.Description);
            Assert.Equal(Version(2), await File.ReadAllBytesAsync(file));
            Assert.Equal(["no chunk arrived for 300 ms"], reasons);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task A_read_that_stalls_every_time_gives_up_after_its_attempts()
    {
        var (store, js, bucket) = await StoreAsync();
        const string key = "incarnation/1";
        await PurgeChunksAsync(js, bucket, await PutAsync(store, key, 1));
        var retries = 0;
        var file = TempFile();
        try
        {
            var error = await Assert.ThrowsAsync<TimeoutException>(() =>
                SnapshotDownload.GetAsync(store, key, file, TimeSpan.FromMilliseconds(200), 3, _ => retries++, CancellationToken.None));
            Assert.Contains("3 reads stalled", error.Message, StringComparison.Ordinal);
            Assert.Equal(2, retries);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task A_damaged_version_that_nobody_replaced_fails_at_once()
    {
        var (store, js, _) = await StoreAsync();
        const string key = "incarnation/2";
        var meta = await PutAsync(store, key, 1);
        // A chunk its metadata does not count: the read's size and digest checks fail, and reading again cannot help.
        var ack = await js.PublishAsync($"$O.{meta.Bucket}.C.{meta.Nuid}", new byte[] { 1, 2, 3 });
        ack.EnsureSuccess();
        var retries = 0;
        var file = TempFile();
        try
        {
            await Assert.ThrowsAsync<NatsObjException>(() =>
                SnapshotDownload.GetAsync(store, key, file, TimeSpan.FromSeconds(30), 3, _ => retries++, CancellationToken.None));
            Assert.Equal(0, retries);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Reads_finish_with_a_whole_version_while_the_object_is_replaced_again_and_again()
    {
        var (store, _, _) = await StoreAsync();
        const string key = "incarnation/3";
        await PutAsync(store, key, 0);
        using var stop = new CancellationTokenSource();
        var versions = 1;
        var writer = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
                await PutAsync(store, key, versions++);
        });

        var file = TempFile();
        var retries = 0;
        try
        {
            for (var read = 0; read < 30; read++)
            {
                // A read that never finishes fails here rather than hanging the run.
                using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                var meta = await SnapshotDownload.GetAsync(store, key, file, TimeSpan.FromMilliseconds(500), 100, _ => retries++, bound.Token);
                var version = int.Parse(meta.Description!, CultureInfo.InvariantCulture);
                Assert.Equal(Version(version), await File.ReadAllBytesAsync(file));
            }
        }
        finally
        {
            await stop.CancelAsync();
            await writer;
            File.Delete(file);
        }

        output.WriteLine($"30 reads while {versions} versions were stored; {retries} reads started over");
    }

    [Fact]
    public async Task A_missing_snapshot_is_not_found_at_once()
    {
        var (store, _, _) = await StoreAsync();
        var file = TempFile();
        var started = System.Diagnostics.Stopwatch.StartNew();
        // Not a stall to wait out and retry: a missing object is reported by the first attempt.
        await Assert.ThrowsAsync<NatsObjNotFoundException>(() => SnapshotDownload.GetAsync(store, "none/0", file, TimeSpan.FromSeconds(30), 3, null, CancellationToken.None));
        File.Delete(file);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(25), $"took {started.Elapsed}: it waited for a stall");
    }

    private async Task<(INatsObjStore Store, NatsJSContext Js, string Bucket)> StoreAsync()
    {
        var connection = await _nats.ConnectAsync();
        _connections.Add(connection);
        var js = new NatsJSContext(connection);
        var bucket = $"SNAPTEST_{Guid.NewGuid():N}";
        return (await new NatsObjContext(js).CreateObjectStoreAsync(new NatsObjConfig(bucket)), js, bucket);
    }

    private static async Task<ObjectMetadata> PutAsync(INatsObjStore store, string key, int version) =>
        await store.PutAsync(new ObjectMetadata { Name = key, Description = version.ToString(CultureInfo.InvariantCulture) }, new MemoryStream(Version(version)));

    // The object store's layout (ADR-20): stream OBJ_{bucket}, chunks on $O.{bucket}.C.{nuid}.
    private static async Task PurgeChunksAsync(NatsJSContext js, string bucket, ObjectMetadata version) =>
        await js.PurgeStreamAsync($"OBJ_{bucket}", new NATS.Client.JetStream.Models.StreamPurgeRequest { Filter = $"$O.{bucket}.C.{version.Nuid}" });

    private static string TempFile() => Path.Combine(Path.GetTempPath(), $"quiver-snapshot-test-{Guid.NewGuid():N}");

    public async Task InitializeAsync() => await Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var connection in _connections)
            await connection.DisposeAsync();
    }
}
