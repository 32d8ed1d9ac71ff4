using System.Diagnostics;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Quiver.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Quiver.Server.Tests.Ingest;

/// <summary>
/// The NATS connector against a real nats-server: a stream of 100k events, the Quiver server killed with SIGKILL
/// mid-stream and restarted, and the collection checked against the events' final state, point by point.
/// </summary>
public sealed class NatsIngestTests(ITestOutputHelper output)
{
    private const int EventCount = 100_000;
    private const int Ids = 5_000;

    [Fact]
    public async Task Every_event_lands_exactly_once_across_a_sigkill_mid_stream()
    {
        await using var nats = await NatsServer.StartAsync();
        await using var connection = await nats.ConnectAsync();
        var js = new NatsJSContext(connection);
        await js.CreateStreamAsync(new StreamConfig("EVENTS", ["events.>"]));
        var events = IngestScenario.Events(EventCount, Ids, seed: 20261126);
        var storage = Path.Combine(Path.GetTempPath(), "quiver-nats-ingest-" + Guid.NewGuid().ToString("N"));
        try
        {
            var server = await ServerProcess.StartAsync(storage);
            using (var rest = new RestClient(server.BaseAddress))
            {
                (await rest.PutAsync("/collections/ingest", IngestScenario.CollectionConfig)).EnsureOk();
                (await rest.PutAsync("/quiver/connectors/events", new
                {
                    kind = "nats",
                    collection = "ingest",
                    nats = new { url = nats.Url, stream = "EVENTS", subject = "events.points" },
                })).EnsureOk();

                // The publisher runs on while the server dies and comes back; the stream keeps what arrives.
                var sequences = new ulong[events.Count];
                var publishing = Task.Run(() => PublishAsync(js, events, sequences));
                var atKill = await IngestScenario.WaitForConnectorAsync(rest, "events", s => s["applied"]!.GetValue<long>() >= 30_000, TimeSpan.FromSeconds(120));
                await server.KillAsync();
                output.WriteLine($"killed with SIGKILL at applied={atKill["applied"]}, position={atKill["position"]}");
                await publishing;
                await server.DisposeAsync();

                server = await ServerProcess.StartAsync(storage);
                using var again = new RestClient(server.BaseAddress);
                var watch = Stopwatch.StartNew();
                var done = await IngestScenario.WaitForConnectorAsync(again, "events", s => s["position"]?.GetValue<string>() == EventCount.ToString(System.Globalization.CultureInfo.InvariantCulture), TimeSpan.FromSeconds(180));
                output.WriteLine($"after the restart: caught up in {watch.Elapsed.TotalSeconds:F1} s; status {done.ToJsonString()}");
                Assert.Equal("running", done["state"]!.GetValue<string>());
                Assert.Equal(0, done["lag"]!.GetValue<long>());

                // The expected state follows the stream's order (the sequence each publish was given).
                var ordered = events.Select((e, i) => (e, sequences[i])).OrderBy(x => x.Item2).Select(x => x.e);
                var expected = IngestScenario.Expected(ordered);
                await IngestScenario.AssertHoldsAsync(again, "ingest", expected);
                output.WriteLine($"{expected.Count} points hold exactly the final state of {EventCount} events");

                // The counters are exported for Prometheus too.
                var metrics = (await again.GetAsync("/metrics")).Text;
                Assert.Contains($"quiver_connector_events_applied_total{{otel_scope_name=\"Quiver.Ingest\",connector=\"events\"}} {done["applied"]}", metrics, StringComparison.Ordinal);
                Assert.Contains("quiver_connector_lag{otel_scope_name=\"Quiver.Ingest\",connector=\"events\"} 0", metrics, StringComparison.Ordinal);
            }

            await server.DisposeAsync();
        }
        finally
        {
            Directory.Delete(storage, recursive: true);
        }
    }

    /// <summary>
    /// A previous instance died with messages delivered but not acked. The connector must re-create its consumer at
    /// the ack floor, so those come again first and in order (not after newer ones once their ack wait expires).
    /// </summary>
    [Fact]
    public async Task Messages_left_pending_by_a_dead_instance_are_read_again_first_and_in_order()
    {
        await using var nats = await NatsServer.StartAsync();
        await using var connection = await nats.ConnectAsync();
        var js = new NatsJSContext(connection);
        await js.CreateStreamAsync(new StreamConfig("PENDING", ["pending.>"]));
        // Few ids, so most events touch a point an earlier one did: any reordering shows in the final state.
        var events = IngestScenario.Events(2_000, 50, seed: 99);
        await PublishAsync(js, events, new ulong[events.Count], "pending.points");

        var dead = await js.CreateOrUpdateConsumerAsync("PENDING", new ConsumerConfig("quiver-pending")
        {
            AckPolicy = ConsumerConfigAckPolicy.All,
            FilterSubject = "pending.points",
            AckWait = TimeSpan.FromSeconds(60),
        });
        var delivered = new List<INatsJSMsg<byte[]>>();
        await foreach (var msg in dead.FetchAsync<byte[]>(new NatsJSFetchOpts { MaxMsgs = 300, Expires = TimeSpan.FromSeconds(5) }))
            delivered.Add(msg);
        Assert.Equal(300, delivered.Count);
        await delivered[99].AckAsync(new AckOpts { DoubleAck = true });

        var storage = Path.Combine(Path.GetTempPath(), "quiver-nats-pending-" + Guid.NewGuid().ToString("N"));
        try
        {
            await using var server = await ServerProcess.StartAsync(storage);
            using var rest = new RestClient(server.BaseAddress);
            (await rest.PutAsync("/collections/ingest", IngestScenario.CollectionConfig)).EnsureOk();
            (await rest.PutAsync("/quiver/connectors/pending", new
            {
                kind = "nats",
                collection = "ingest",
                batch = new { max_events = 64 },
                nats = new { url = nats.Url, stream = "PENDING", subject = "pending.points" },
            })).EnsureOk();
            var done = await IngestScenario.WaitForConnectorAsync(rest, "pending", s => s["position"]?.GetValue<string>() == "2000", TimeSpan.FromSeconds(60));
            output.WriteLine($"status {done.ToJsonString()}");
            // The first 100 were acked by the dead instance, so this collection starts with event 101.
            Assert.Equal(1_900, done["consumed"]!.GetValue<long>());
            await IngestScenario.AssertHoldsAsync(rest, "ingest", IngestScenario.Expected(events.Skip(100)));
        }
        finally
        {
            Directory.Delete(storage, recursive: true);
        }
    }

    /// <summary>The producer's W3C trace context, sent in the events' headers, continues into the connector's batch.</summary>
    [Fact]
    public async Task The_producers_trace_continues_into_the_batch_that_writes_its_events()
    {
        const string TraceId = "0af7651916cd43dd8448eb211c80319c";
        await using var nats = await NatsServer.StartAsync();
        await using var connection = await nats.ConnectAsync();
        var js = new NatsJSContext(connection);
        await js.CreateStreamAsync(new StreamConfig("TRACED", ["traced.>"]));
        foreach (var body in new[] { """{"op":"upsert","id":1,"vector":[1,2,3,4]}""", """{"op":"upsert","id":2,"vector":[1]}""" })
        {
            var headers = new NATS.Client.Core.NatsHeaders { ["traceparent"] = $"00-{TraceId}-b7ad6b7169203331-01" };
            (await js.PublishAsync("traced.points", System.Text.Encoding.UTF8.GetBytes(body), headers: headers)).EnsureSuccess();
        }

        var storage = Path.Combine(Path.GetTempPath(), "quiver-nats-traced-" + Guid.NewGuid().ToString("N"));
        var config = storage + ".yaml";
        await File.WriteAllTextAsync(config, "tracing:\n  enabled: true\nlogging:\n  format: json\n");
        try
        {
            await using var server = await ServerProcess.StartAsync(storage, ["--config", config]);
            using var rest = new RestClient(server.BaseAddress);
            (await rest.PutAsync("/collections/ingest", IngestScenario.CollectionConfig)).EnsureOk();
            (await rest.PutAsync("/quiver/connectors/traced", new
            {
                kind = "nats",
                collection = "ingest",
                nats = new { url = nats.Url, stream = "TRACED", subject = "traced.points" },
            })).EnsureOk();
            await IngestScenario.WaitForConnectorAsync(rest, "traced", s => s["dead_lettered"]!.GetValue<long>() == 1, TimeSpan.FromSeconds(30));

            // The dead-letter warning is written inside the batch's span: its scope carries the producer's trace id.
            var line = server.Output.Split('\n').FirstOrDefault(l => l.Contains("dead-lettered", StringComparison.Ordinal))
                ?? throw new InvalidOperationException($"no dead-letter log line in:\n{server.Output}");
            using var entry = System.Text.Json.JsonDocument.Parse(line);
            var scopes = entry.RootElement.GetProperty("Scopes").EnumerateArray();
            Assert.Contains(scopes, scope => scope.TryGetProperty("TraceId", out var id) && id.GetString() == TraceId);
        }
        finally
        {
            Directory.Delete(storage, recursive: true);
            File.Delete(config);
        }
    }

    /// <summary>Publishes with up to 256 acks outstanding, recording the stream sequence of each event.</summary>
    internal static async Task PublishAsync(NatsJSContext js, List<byte[]> events, ulong[] sequences, string subject = "events.points")
    {
        var inFlight = new Queue<(int Index, Task<PubAckResponse> Ack)>();
        for (var i = 0; i < events.Count; i++)
        {
            inFlight.Enqueue((i, js.PublishAsync(subject, events[i]).AsTask()));
            if (inFlight.Count >= 256)
                await Drain(inFlight.Dequeue());
        }

        while (inFlight.Count > 0)
            await Drain(inFlight.Dequeue());

        async Task Drain((int Index, Task<PubAckResponse> Ack) item)
        {
            var ack = await item.Ack;
            ack.EnsureSuccess();
            sequences[item.Index] = ack.Seq;
        }
    }
}
