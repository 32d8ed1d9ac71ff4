using System.Text.Json.Nodes;
using NATS.Client.JetStream;
using Quiver.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Quiver.Server.Tests.Ingest;

/// <summary>
/// The change stream to a real nats-server: every applied operation, per point, in log order, with the version the
/// API acknowledged; and after a SIGKILL it resumes from the last published version, losing none.
/// </summary>
public sealed class ChangeStreamTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Every_applied_operation_is_published_in_order_and_a_restart_resumes_without_loss()
    {
        await using var nats = await NatsServer.StartAsync();
        var storage = Path.Combine(Path.GetTempPath(), "quiver-changes-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(storage);
        var config = Path.Combine(storage, "..", Path.GetFileName(storage) + ".yaml");
        await File.WriteAllTextAsync(config, $"change_stream:\n  kind: nats\n  nats:\n    url: {nats.Url}\n    subject_prefix: changes\n");
        string[] args = ["--config", config];
        try
        {
            var server = await ServerProcess.StartAsync(storage, args);
            var expected = new List<(ulong Version, string Op, string? Id)>();
            using (var rest = new RestClient(server.BaseAddress))
            {
                (await rest.PutAsync("/collections/feed", IngestScenario.CollectionConfig)).EnsureOk();
                ulong Version(RestResponse r) => r.EnsureOk().Result["operation_id"]!.GetValue<ulong>();
                var v = Version(await rest.PutAsync("/collections/feed/points?wait=true", new
                {
                    points = Enumerable.Range(1, 50).Select(i => new { id = i, vector = new[] { i, 0f, 0f, 1f }, payload = new { n = i } }),
                }));
                expected.AddRange(Enumerable.Range(1, 50).Select(i => (v, "upsert", (string?)i.ToString(System.Globalization.CultureInfo.InvariantCulture))));
                v = Version(await rest.PostAsync("/collections/feed/points/payload?wait=true", new { payload = new { tag = "x" }, points = new[] { 3, 1, 2 } }));
                expected.AddRange(new[] { "3", "1", "2" }.Select(id => (v, "set_payload", (string?)id)));
                v = Version(await rest.PostAsync("/collections/feed/points/delete?wait=true", new { points = new[] { 4, 5 } }));
                expected.AddRange(new[] { "4", "5" }.Select(id => (v, "delete", (string?)id)));
                v = Version(await rest.PostAsync("/collections/feed/points/delete?wait=true", new { filter = new { must = new[] { new { key = "n", range = new { gte = 40 } } } } }));
                expected.Add((v, "delete", null));

                // A writer that is killed mid-stream: every acknowledged upsert must come out after the restart.
                using var stop = new CancellationTokenSource();
                var acked = new List<(ulong Version, string Id)>();
                var writer = Task.Run(async () =>
                {
                    for (var i = 1000; !stop.IsCancellationRequested; i++)
                    {
                        try
                        {
                            var r = await rest.PutAsync("/collections/feed/points?wait=true", new { points = new[] { new { id = i, vector = new[] { 1f, 2f, 3f, 4f } } } });
                            lock (acked)
                                acked.Add((r.EnsureOk().Result["operation_id"]!.GetValue<ulong>(), i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                        }
                        catch (Exception)
                        {
                            return;
                        }
                    }
                });
                await Task.Delay(700);
                await server.KillAsync();
                await stop.CancelAsync();
                await writer;
                await server.DisposeAsync();
                lock (acked)
                    expected.AddRange(acked.Select(a => (a.Version, "upsert", (string?)a.Id)));
                output.WriteLine($"killed after {acked.Count} acknowledged single upserts");
            }

            server = await ServerProcess.StartAsync(storage, args);
            using (var rest = new RestClient(server.BaseAddress))
            {
                var v = (await rest.PutAsync("/collections/feed/points?wait=true", new { points = new[] { new { id = 7, vector = new[] { 1f, 1f, 1f, 1f } } } })).EnsureOk().Result["operation_id"]!.GetValue<ulong>();
                expected.Add((v, "upsert", "7"));
            }

            var seen = await ReadAsync(nats, expected[^1].Version, TimeSpan.FromSeconds(60));
            output.WriteLine($"{seen.Count} change messages; {expected.Count} acknowledged changes to find in them");
            // In log order, each acknowledged change present; versions past the last acknowledged write may follow
            // (writes the killed process logged but had not yet answered).
            Assert.True(seen.Zip(seen.Skip(1)).All(p => p.First.Version <= p.Second.Version), "versions go backwards");
            var index = 0;
            foreach (var want in expected)
            {
                while (index < seen.Count && (seen[index].Version, seen[index].Op, seen[index].Id) != want)
                    index++;
                Assert.True(index < seen.Count, $"change {want} is missing");
            }

            Assert.All(seen, s => Assert.Equal("feed", s.Collection));
            await server.DisposeAsync();
        }
        finally
        {
            Directory.Delete(storage, recursive: true);
            File.Delete(config);
        }
    }

    /// <summary>Reads the whole stream once it holds a change with version <paramref name="last"/> or later.</summary>
    private static async Task<List<(ulong Version, string Op, string? Id, string Collection)>> ReadAsync(NatsServer nats, ulong last, TimeSpan timeout)
    {
        await using var connection = await nats.ConnectAsync();
        var js = new NatsJSContext(connection);
        var deadline = DateTime.UtcNow + timeout;
        var seen = new List<(ulong, string, string?, string)>();
        while (DateTime.UtcNow < deadline)
        {
            seen.Clear();
            try
            {
                var consumer = await js.CreateOrderedConsumerAsync("QUIVER_CHANGES");
                await foreach (var msg in consumer.FetchNoWaitAsync<byte[]>(new NatsJSFetchOpts { MaxMsgs = 100_000 }))
                {
                    var m = JsonNode.Parse(msg.Data!)!;
                    Assert.Equal("changes.feed", msg.Subject);
                    seen.Add((m["version"]!.GetValue<ulong>(), m["op"]!.GetValue<string>(), m["id"]?.ToJsonString(), m["collection"]!.GetValue<string>()));
                }
            }
            catch (NatsJSApiException ex) when (ex.Error.Code == 404)
            {
            }

            if (seen.Count > 0 && seen.Max(m => m.Item1) >= last)
                return [.. seen.Select(s => ((ulong, string, string?, string))s)];
            await Task.Delay(200);
        }

        throw new TimeoutException($"{seen.Count} change messages arrived, none with version {last} or later");
    }
}
