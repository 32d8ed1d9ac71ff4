using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Quiver.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Quiver.Server.Tests.Crash;

/// <summary>
/// Kills a server child process with SIGKILL while it takes <c>wait=true</c> upserts, restarts it, and checks
/// that every acknowledged write survived with its latest vector and payload.
/// </summary>
public sealed partial class CrashRecoveryTests(ITestOutputHelper output)
{
    private const int Dim = 8;
    private const int IdSpace = 3000;

    [Fact]
    public Task Acknowledged_upserts_survive_sigkill_across_cycles() =>
        RunKillCyclesAsync(24, new { vectors = new { size = Dim, distance = "Euclid" } }, null, 150, 900);

    /// <summary>
    /// The same with the appendable segment indexed live (a 1 KB threshold), flushed every second as chunk files,
    /// and, as updates pile up deleted rows, sealed and rebuilt: kills land in all of it.
    /// </summary>
    [Fact]
    public Task Acknowledged_upserts_survive_sigkill_with_live_indexing_and_chunked_flushes() =>
        RunKillCyclesAsync(
            8,
            new { vectors = new { size = Dim, distance = "Euclid" }, optimizers_config = new { indexing_threshold = 1 }, hnsw_config = new { m = 8, ef_construct = 32 } },
            ["--flush-interval-sec", "1"],
            1200,
            2600);

    private async Task RunKillCyclesAsync(int cycles, object create, string[]? serverArgs, int killAfterMinMs, int killAfterMaxMs)
    {
        var storage = Path.Combine(Path.GetTempPath(), "quiver-crash-" + Guid.NewGuid().ToString("N"));
        var random = new Random(20261126);
        // Per id: the acknowledged state, and states sent but not acknowledged when the process died.
        var acked = new Dictionary<ulong, PointState>();
        var uncertain = new Dictionary<ulong, List<PointState>>();
        var totalAcked = 0;
        try
        {
            for (var cycle = 0; cycle < cycles; cycle++)
            {
                await using var server = await ServerProcess.StartAsync(storage, serverArgs);
                using var client = new RestClient(server.BaseAddress);
                if (cycle == 0)
                {
                    (await client.PutAsync("/collections/crash", create)).EnsureOk();
                }
                else
                {
                    await VerifyAsync(client, acked, uncertain, cycle);
                    // Whatever the last cycle left uncertain is now settled: read what the server holds.
                    await SettleAsync(client, acked, uncertain);
                }

                using var stop = new CancellationTokenSource();
                var writer = Task.Run(async () =>
                {
                    var batchNo = 0;
                    while (!stop.IsCancellationRequested)
                    {
                        var batch = Enumerable.Range(0, 20).Select(_ => (ulong)random.Next(1, IdSpace))
                            .Distinct()
                            .Select(id => new PointState(id, RandomVector(random), $"c{cycle}-b{batchNo}-{id}"))
                            .ToList();
                        foreach (var p in batch)
                            (uncertain.TryGetValue(p.Id, out var l) ? l : uncertain[p.Id] = []).Add(p);
                        RestResponse response;
                        try
                        {
                            response = await client.PutAsync("/collections/crash/points?wait=true", UpsertBody(batch));
                        }
                        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                        {
                            return; // the server died mid-request: this batch stays uncertain
                        }

                        if (response.Status != HttpStatusCode.OK)
                            return;
                        foreach (var p in batch)
                        {
                            acked[p.Id] = p;
                            uncertain.Remove(p.Id);
                        }

                        totalAcked += batch.Count;
                        batchNo++;
                    }
                });

                await Task.Delay(random.Next(killAfterMinMs, killAfterMaxMs));
                await server.KillAsync();
                await stop.CancelAsync();
                await writer;
            }

            await using (var last = await ServerProcess.StartAsync(storage, serverArgs))
            {
                using var client = new RestClient(last.BaseAddress);
                await VerifyAsync(client, acked, uncertain, cycles);
            }

            output.WriteLine($"{cycles} kill cycles, {totalAcked} acknowledged point writes, {acked.Count} distinct points verified");
            var files = Directory.EnumerateFiles(storage, "*", SearchOption.AllDirectories).Select(Path.GetFileName).ToList();
            output.WriteLine($"files at the end: {files.Count(f => f!.Contains("-rows-", StringComparison.Ordinal))} row chunks, {files.Count(f => f!.EndsWith(".hnsw", StringComparison.Ordinal))} graphs, {files.Count(f => f!.StartsWith("plain-", StringComparison.Ordinal))} plain");
            Assert.True(totalAcked > cycles * 20, $"too few acknowledged writes ({totalAcked}) for the test to mean anything");
        }
        finally
        {
            if (Directory.Exists(storage))
                Directory.Delete(storage, recursive: true);
        }
    }

    [Fact]
    public async Task Restart_replays_100k_points_of_log_after_a_kill()
    {
        var storage = Path.Combine(Path.GetTempPath(), "quiver-replay-" + Guid.NewGuid().ToString("N"));
        try
        {
            // No periodic flush: everything written must come back from the log.
            var args = new[] { "--flush-interval-sec", "3600" };
            await using (var server = await ServerProcess.StartAsync(storage, args))
            {
                using var client = new RestClient(server.BaseAddress);
                (await client.PutAsync("/collections/replay", new { vectors = new { size = 16, distance = "Cosine" } })).EnsureOk();
                var random = new Random(7);
                for (var start = 0; start < 100_000; start += 2000)
                {
                    var ids = Enumerable.Range(start, 2000).Select(i => (ulong)i + 1).ToArray();
                    var vectors = ids.Select(_ => Enumerable.Range(0, 16).Select(_ => (float)random.NextDouble()).ToArray()).ToArray();
                    var payloads = ids.Select(id => new { n = id, tag = "t" + (id % 10) }).ToArray();
                    (await client.PutAsync("/collections/replay/points", new { batch = new { ids, vectors, payloads } })).EnsureOk();
                }

                await server.KillAsync();
            }

            await using (var restarted = await ServerProcess.StartAsync(storage, args))
            {
                using var client = new RestClient(restarted.BaseAddress);
                var count = (await client.PostAsync("/collections/replay/points/count", new { exact = true })).EnsureOk().Result["count"]!.GetValue<long>();
                Assert.Equal(100_000, count);
                var match = RecoveredLine().Match(restarted.Output);
                Assert.True(match.Success, "no recovery time in the server log:\n" + restarted.Output);
                var ms = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
                output.WriteLine($"recovered 100,000 points from the log in {ms} ms");
                // A bound against a pathological replay (per-record work growing with the log), not a speed goal: the
                // suite runs its classes in parallel on two cores, where this took 1,011 ms once. Speed is for benchmarks.
                Assert.True(ms < 10_000, $"replaying 100k points took {ms} ms");
            }
        }
        finally
        {
            if (Directory.Exists(storage))
                Directory.Delete(storage, recursive: true);
        }
    }

    private static async Task VerifyAsync(RestClient client, Dictionary<ulong, PointState> acked, Dictionary<ulong, List<PointState>> uncertain, int cycle)
    {
        var ids = acked.Keys.Concat(uncertain.Keys).Distinct().ToArray();
        var got = await FetchAsync(client, ids);
        foreach (var id in ids)
        {
            var allowed = new List<PointState?>();
            allowed.Add(acked.TryGetValue(id, out var a) ? a : null);
            if (uncertain.TryGetValue(id, out var pending))
                allowed.AddRange(pending);
            got.TryGetValue(id, out var actual);
            Assert.True(allowed.Any(s => Same(s, actual)),
                $"cycle {cycle}: point {id} is {Describe(actual)}, expected one of {string.Join(" | ", allowed.Select(Describe))}");
        }

        var count = (await client.PostAsync("/collections/crash/points/count", new { exact = true })).EnsureOk().Result["count"]!.GetValue<long>();
        Assert.Equal(got.Count, count);
    }

    private static async Task SettleAsync(RestClient client, Dictionary<ulong, PointState> acked, Dictionary<ulong, List<PointState>> uncertain)
    {
        var got = await FetchAsync(client, [.. uncertain.Keys]);
        foreach (var id in uncertain.Keys)
        {
            if (got.TryGetValue(id, out var actual))
                acked[id] = actual;
        }

        uncertain.Clear();
    }

    private static async Task<Dictionary<ulong, PointState>> FetchAsync(RestClient client, ulong[] ids)
    {
        var result = new Dictionary<ulong, PointState>();
        var response = (await client.PostAsync("/collections/crash/points", new { ids, with_payload = true, with_vector = true })).EnsureOk();
        foreach (var p in response.Result.AsArray())
        {
            var id = p!["id"]!.GetValue<ulong>();
            result[id] = new PointState(id, p["vector"]!.AsArray().Select(v => v!.GetValue<float>()).ToArray(), p["payload"]!["tag"]!.GetValue<string>());
        }

        return result;
    }

    private static bool Same(PointState? expected, PointState? actual) =>
        expected is null ? actual is null : actual is not null && expected.Tag == actual.Tag && expected.Vector.SequenceEqual(actual.Vector);

    private static string Describe(PointState? s) => s is null ? "absent" : s.Tag;

    private static float[] RandomVector(Random random) => Enumerable.Range(0, Dim).Select(_ => (float)Math.Round(random.NextDouble() * 100, 2)).ToArray();

    private static JsonObject UpsertBody(List<PointState> batch) => new()
    {
        ["points"] = new JsonArray(batch.Select(p => (JsonNode)new JsonObject
        {
            ["id"] = p.Id,
            ["vector"] = new JsonArray(p.Vector.Select(v => (JsonNode)JsonValue.Create(v)).ToArray()),
            ["payload"] = new JsonObject { ["tag"] = p.Tag },
        }).ToArray()),
    };

    [GeneratedRegex(@"Recovered \d+ collections in (\d+) ms")]
    private static partial Regex RecoveredLine();

    private sealed record PointState(ulong Id, float[] Vector, string Tag);
}
