using Quiver.Server.Tests.Infrastructure;

namespace Quiver.Server.Tests.Crash;

/// <summary>Damaged logs on disk: a torn tail is cut and the server starts; earlier damage stops start-up clearly.</summary>
public sealed class CorruptionTests
{
    private static readonly string[] NoFlush = ["--flush-interval-sec", "3600"];

    [Fact]
    public async Task Torn_tail_is_cut_and_every_complete_record_is_kept()
    {
        var storage = NewStorage();
        try
        {
            await WriteThenKillAsync(storage, batches: 10);
            var wal = WalFile(storage);
            // A record cut short by the crash: a header promising more bytes than follow.
            await using (var fs = new FileStream(wal, FileMode.Append))
                fs.Write([200, 0, 0, 0, 11, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3]);

            await using var server = await ServerProcess.StartAsync(storage, NoFlush);
            using var client = new RestClient(server.BaseAddress);
            var count = (await client.PostAsync("/collections/c/points/count", new { exact = true })).EnsureOk().Result["count"]!.GetValue<long>();
            Assert.Equal(10 * 50, count);
            // The log accepts writes after the cut.
            (await client.PutAsync("/collections/c/points?wait=true", new { points = new[] { new { id = 100_000, vector = new[] { 1f, 2f, 3f, 4f } } } })).EnsureOk();
        }
        finally
        {
            Directory.Delete(storage, recursive: true);
        }
    }

    [Fact]
    public async Task Corrupt_record_before_valid_ones_stops_startup_naming_file_and_offset()
    {
        var storage = NewStorage();
        try
        {
            await WriteThenKillAsync(storage, batches: 10);
            var wal = WalFile(storage);
            var bytes = await File.ReadAllBytesAsync(wal);
            bytes[bytes.Length / 3] ^= 0x5A;
            await File.WriteAllBytesAsync(wal, bytes);

            var (exitCode, output) = await ServerProcess.RunUntilExitAsync(storage, TimeSpan.FromSeconds(60));
            Assert.NotEqual(0, exitCode);
            Assert.Contains(Path.GetFileName(wal), output, StringComparison.Ordinal);
            Assert.Contains("offset", output, StringComparison.Ordinal);
            Assert.DoesNotContain("Unhandled exception", output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(storage, recursive: true);
        }
    }

    private static string NewStorage() => Path.Combine(Path.GetTempPath(), "quiver-corrupt-" + Guid.NewGuid().ToString("N"));

    private static string WalFile(string storage) =>
        Directory.GetFiles(Path.Combine(storage, "collections", "c", "shards", "0", "wal"), "wal-*.log").Single();

    private static async Task WriteThenKillAsync(string storage, int batches)
    {
        await using var server = await ServerProcess.StartAsync(storage, NoFlush);
        using var client = new RestClient(server.BaseAddress);
        (await client.PutAsync("/collections/c", new { vectors = new { size = 4, distance = "Dot" } })).EnsureOk();
        for (var b = 0; b < batches; b++)
        {
            var points = Enumerable.Range(b * 50, 50).Select(i => new { id = i, vector = new[] { i, 1f, 2f, 3f }, payload = new { i } }).ToArray();
            (await client.PutAsync("/collections/c/points?wait=true", new { points })).EnsureOk();
        }

        await server.KillAsync();
    }
}
