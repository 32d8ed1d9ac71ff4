using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using Quiver.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Quiver.Server.Tests.Ingest;

/// <summary>
/// The Kafka connector against librdkafka's mock cluster (real wire protocol on loopback): a SIGKILL mid-stream,
/// a consumer-group rebalance between two Quiver servers, and poison events dead-lettered with their origin.
/// </summary>
[Collection(KafkaTestsCollection.Name)]
public sealed class KafkaIngestTests(ITestOutputHelper output)
{
    private const int Ids = 5_000;

    [Fact]
    public async Task Every_event_lands_exactly_once_across_a_sigkill_mid_stream()
    {
        using var kafka = new KafkaMockCluster();
        kafka.CreateTopic("events", 4);
        var events = IngestScenario.Events(100_000, Ids, seed: 1126);
        var storage = TempStorage();
        try
        {
            var server = await ServerProcess.StartAsync(storage);
            using (var rest = new RestClient(server.BaseAddress))
            {
                (await rest.PutAsync("/collections/ingest", IngestScenario.CollectionConfig)).EnsureOk();
                (await rest.PutAsync("/quiver/connectors/events", Connector(kafka, "events"))).EnsureOk();
                var producing = Task.Run(() => Produce(kafka, "events", events));
                var atKill = await IngestScenario.WaitForConnectorAsync(rest, "events", s => s["applied"]!.GetValue<long>() >= 30_000, TimeSpan.FromSeconds(120));
                await server.KillAsync();
                output.WriteLine($"killed with SIGKILL at applied={atKill["applied"]}, committed {atKill["position"]}");
                await producing;
                await server.DisposeAsync();
            }

            server = await ServerProcess.StartAsync(storage);
            using (var rest = new RestClient(server.BaseAddress))
            {
                // The killed server stays a group member until its session times out (45 s): only then does this one
                // hold every partition, and only then is a lag of 0 the whole topic's.
                var done = await WaitCaughtUpAsync(rest, "events", "0,1,2,3");
                output.WriteLine($"after the restart: {done.ToJsonString()}");
                // Each id's events share a partition (the key is the id), so their order is the order produced.
                var expected = IngestScenario.Expected(events);
                await IngestScenario.AssertHoldsAsync(rest, "ingest", expected);
                output.WriteLine($"{expected.Count} points hold exactly the final state of {events.Count} events");
            }

            await server.DisposeAsync();
        }
        finally
        {
            Directory.Delete(storage, recursive: true);
        }
    }

    [Fact]
    public async Task Two_servers_in_one_group_share_the_partitions_and_a_rebalance_loses_nothing()
    {
        using var kafka = new KafkaMockCluster();
        kafka.CreateTopic("shared", 4);
        var random = new Random(77);
        // Upserts only, each carrying its index: whichever server holds an id, its newest copy must be the last.
        var events = Enumerable.Range(0, 60_000).Select(i => Encoding.UTF8.GetBytes(new JsonObject
        {
            ["op"] = "upsert",
            ["id"] = random.Next(Ids),
            ["vector"] = new JsonArray(1, 2, 3, 4),
            ["payload"] = new JsonObject { ["event"] = i },
        }.ToJsonString())).ToList();
        var (storageA, storageB) = (TempStorage(), TempStorage());
        try
        {
            await using var a = await ServerProcess.StartAsync(storageA);
            await using var b = await ServerProcess.StartAsync(storageB);
            using var restA = new RestClient(a.BaseAddress);
            using var restB = new RestClient(b.BaseAddress);
            (await restA.PutAsync("/collections/ingest", IngestScenario.CollectionConfig)).EnsureOk();
            (await restB.PutAsync("/collections/ingest", IngestScenario.CollectionConfig)).EnsureOk();
            (await restA.PutAsync("/quiver/connectors/shared", Connector(kafka, "shared", batch: 200))).EnsureOk();
            var producing = Task.Run(() => Produce(kafka, "shared", events, paceEvery: 2_000));
            try
            {
                await IngestScenario.WaitForConnectorAsync(restA, "shared", s => s["applied"]!.GetValue<long>() >= 10_000, TimeSpan.FromSeconds(120));
            }
            catch (TimeoutException ex)
            {
                // Seen once in a full run (A never given partitions): keep what the server said for the next look.
                var log = a.Output;
                throw new TimeoutException($"{ex.Message}\nserver A's log (tail):\n{log[Math.Max(0, log.Length - 4000)..]}", ex);
            }

            // B joins the group: the partitions are split between the two servers.
            (await restB.PutAsync("/quiver/connectors/shared", Connector(kafka, "shared", batch: 200))).EnsureOk();
            var bJoined = await IngestScenario.WaitForConnectorAsync(restB, "shared", s => s["applied"]!.GetValue<long>() >= 5_000, TimeSpan.FromSeconds(120));
            // The group spreads the partitions: each server holds some, together all, none twice.
            var deadline = DateTime.UtcNow.AddSeconds(60);
            string? heldByA = null, heldByB = null;
            while (DateTime.UtcNow < deadline)
            {
                heldByA = (await restA.GetAsync("/quiver/connectors/shared")).EnsureOk().Result["status"]!["partitions"]?.GetValue<string>();
                heldByB = (await restB.GetAsync("/quiver/connectors/shared")).EnsureOk().Result["status"]!["partitions"]?.GetValue<string>();
                if (heldByA is { Length: > 0 } && heldByB is { Length: > 0 }
                    && heldByA.Split(',').Concat(heldByB.Split(',')).Order().SequenceEqual(["0", "1", "2", "3"]))
                {
                    break;
                }

                await Task.Delay(100);
            }

            output.WriteLine($"B joined: B applied {bJoined["applied"]}; A holds partitions {heldByA}, B holds {heldByB}");
            Assert.True(heldByA is { Length: > 0 } && heldByB is { Length: > 0 }, $"partitions not shared: A {heldByA}, B {heldByB}");
            Assert.Equal(["0", "1", "2", "3"], heldByA.Split(',').Concat(heldByB.Split(',')).Order());

            // A leaves the group: B takes every partition from the committed offsets.
            (await restA.DeleteAsync("/quiver/connectors/shared")).EnsureOk();
            await producing;
            // Caught up means holding every partition (the rebalance is over) with nothing left past the commits.
            var done = await WaitCaughtUpAsync(restB, "shared", "0,1,2,3");
            output.WriteLine($"B after A left: {done.ToJsonString()}");

            var last = new Dictionary<long, int>();
            for (var i = 0; i < events.Count; i++)
                last[JsonNode.Parse(events[i])!["id"]!.GetValue<long>()] = i;
            var newest = new Dictionary<long, int>();
            foreach (var rest in new[] { restA, restB })
            {
                var points = (await rest.PostAsync("/collections/ingest/points/scroll", new { limit = Ids + 1, with_payload = true })).EnsureOk().Result["points"]!.AsArray();
                foreach (var p in points)
                {
                    var id = p!["id"]!.GetValue<long>();
                    newest[id] = Math.Max(newest.GetValueOrDefault(id, -1), p["payload"]!["event"]!.GetValue<int>());
                }
            }

            Assert.Equal(last.Count, newest.Count);
            foreach (var (id, index) in last)
                Assert.True(newest[id] == index, $"id {id}: newest copy is event {newest[id]}, the last event was {index}");
        }
        finally
        {
            Directory.Delete(storageA, recursive: true);
            Directory.Delete(storageB, recursive: true);
        }
    }

    [Fact]
    public async Task Poison_events_go_to_the_dead_letter_topic_with_their_origin_and_the_rest_is_applied()
    {
        using var kafka = new KafkaMockCluster();
        kafka.CreateTopic("mixed", 1);
        // One partition for the dead letters too, so they can be read back in the order they were sent.
        kafka.CreateTopic("mixed.dead-letter", 1);
        var good = IngestScenario.Events(600, 50, seed: 5).Where(e => e.AsSpan().IndexOf("set_payload"u8) < 0).ToList();
        var poison = new (int At, string Body, string Reason)[]
        {
            (10, "{not json", "not JSON"),
            (100, """{"op":"upsert","id":1,"vector":[1,2,3]}""", "dimension"),
            (200, """{"op":"rename","id":1}""", "op 'rename' is unknown"),
            (300, """{"op":"set_payload","id":999999,"payload":{"a":1}}""", "999999"),
            (400, """{"op":"delete","id":1,"schema_version":9}""", "schema_version 9 is not supported"),
        };
        var events = new List<byte[]>(good);
        foreach (var (at, body, _) in poison)
            events.Insert(at, Encoding.UTF8.GetBytes(body));
        var storage = TempStorage();
        try
        {
            await using var server = await ServerProcess.StartAsync(storage);
            using var rest = new RestClient(server.BaseAddress);
            (await rest.PutAsync("/collections/ingest", IngestScenario.CollectionConfig)).EnsureOk();
            Produce(kafka, "mixed", events);
            (await rest.PutAsync("/quiver/connectors/mixed", Connector(kafka, "mixed"))).EnsureOk();
            var done = await WaitCaughtUpAsync(rest, "mixed", "0");
            Assert.Equal(poison.Length, done["dead_lettered"]!.GetValue<long>());
            await IngestScenario.AssertHoldsAsync(rest, "ingest", IngestScenario.Expected(good));

            using var reader = new ConsumerBuilder<string?, byte[]>(new ConsumerConfig { BootstrapServers = kafka.BootstrapServers, GroupId = "dlq-reader", AutoOffsetReset = AutoOffsetReset.Earliest }).Build();
            reader.Subscribe("mixed.dead-letter");
            foreach (var (at, body, reason) in poison)
            {
                var dead = reader.Consume(TimeSpan.FromSeconds(20)) ?? throw new TimeoutException("dead letter missing");
                string H(string name) => Encoding.UTF8.GetString(dead.Message.Headers.GetLastBytes(name));
                Assert.Equal(body, Encoding.UTF8.GetString(dead.Message.Value));
                Assert.Contains(reason, H("quiver-reason"), StringComparison.Ordinal);
                Assert.Equal("mixed", H("quiver-connector"));
                Assert.Equal("mixed", H("quiver-source-topic"));
                Assert.Equal("0", H("quiver-source-partition"));
                Assert.Equal(at.ToString(CultureInfo.InvariantCulture), H("quiver-source-offset"));
                output.WriteLine($"offset {at}: {H("quiver-reason")}");
            }

            Assert.Null(reader.Consume(TimeSpan.FromMilliseconds(500)));
        }
        finally
        {
            Directory.Delete(storage, recursive: true);
        }
    }

    /// <summary>
    /// Paused right after it is created (typically before its partitions are assigned), the connector reads
    /// nothing while held and everything once resumed.
    /// </summary>
    [Fact]
    public async Task A_paused_connector_reads_nothing_until_resumed_and_then_everything()
    {
        using var kafka = new KafkaMockCluster();
        kafka.CreateTopic("held", 2);
        var events = IngestScenario.Events(2_000, 50, seed: 31);
        var storage = TempStorage();
        try
        {
            await using var server = await ServerProcess.StartAsync(storage);
            using var rest = new RestClient(server.BaseAddress);
            (await rest.PutAsync("/collections/ingest", IngestScenario.CollectionConfig)).EnsureOk();
            (await rest.PutAsync("/quiver/connectors/held", Connector(kafka, "held"))).EnsureOk();
            (await rest.PostAsync("/quiver/connectors/held/pause", new { })).EnsureOk();
            Produce(kafka, "held", events);
            await Task.Delay(2_000);
            var held = (await rest.GetAsync("/quiver/connectors/held")).EnsureOk().Result["status"]!;
            Assert.Equal("paused", held["state"]!.GetValue<string>());
            Assert.Equal(0, held["applied"]!.GetValue<long>());

            (await rest.PostAsync("/quiver/connectors/held/resume", new { })).EnsureOk();
            var done = await WaitCaughtUpAsync(rest, "held", "0,1");
            output.WriteLine($"after resuming: {done.ToJsonString()}");
            await IngestScenario.AssertHoldsAsync(rest, "ingest", IngestScenario.Expected(events));
        }
        finally
        {
            Directory.Delete(storage, recursive: true);
        }
    }

    private static object Connector(KafkaMockCluster kafka, string topic, int batch = 500) => new
    {
        kind = "kafka",
        collection = "ingest",
        batch = new { max_events = batch },
        kafka = new { bootstrap_servers = kafka.BootstrapServers, topic },
    };

    /// <summary>Produces every event keyed by its point id, so an id's events stay in one partition, in order.</summary>
    private static void Produce(KafkaMockCluster kafka, string topic, List<byte[]> events, int paceEvery = 0)
    {
        using var producer = new ProducerBuilder<string?, byte[]>(new ProducerConfig
        {
            BootstrapServers = kafka.BootstrapServers,
            EnableIdempotence = true,
            Acks = Acks.All,
            LingerMs = 5,
        }).Build();
        for (var i = 0; i < events.Count; i++)
        {
            var id = KeyOf(events[i]);
            producer.Produce(topic, new Message<string?, byte[]> { Key = id, Value = events[i] });
            if (paceEvery > 0 && i % paceEvery == paceEvery - 1)
            {
                producer.Flush(TimeSpan.FromSeconds(30));
                Thread.Sleep(50);
            }
        }

        if (producer.Flush(TimeSpan.FromSeconds(60)) != 0)
            throw new TimeoutException("events not delivered to the mock cluster");
    }

    private static string? KeyOf(byte[] json)
    {
        try
        {
            return JsonNode.Parse(json) is JsonObject o && o["id"] is { } id ? id.ToJsonString() : null;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// Waits until the connector holds all of <paramref name="partitions"/> and has nothing left past its commits:
    /// its lag covers only the partitions it holds.
    /// </summary>
    private static async Task<JsonNode> WaitCaughtUpAsync(RestClient rest, string name, string partitions) =>
        await IngestScenario.WaitForConnectorAsync(rest, name, s => s["partitions"]?.GetValue<string>() == partitions && s["lag"] is { } lag && lag.GetValue<long>() == 0
            && s["position"] is not null && s["state"]!.GetValue<string>() == "running", TimeSpan.FromSeconds(180));

    private static string TempStorage() => Path.Combine(Path.GetTempPath(), "quiver-kafka-ingest-" + Guid.NewGuid().ToString("N"));
}

/// <summary>
/// The Kafka tests run one at a time and beside nothing else: their mock cluster runs in the test process, and
/// group rebalances are timing-sensitive on two busy cores.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class KafkaTestsCollection
{
    public const string Name = "kafka";
}
