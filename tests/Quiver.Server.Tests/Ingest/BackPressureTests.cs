using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Quiver.Engine.Catalog;
using Quiver.Engine.Collections;
using Quiver.Engine.Shards;
using Quiver.Ingest.Connectors;
using Quiver.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Quiver.Server.Tests.Ingest;

/// <summary>
/// With the apply path slowed (1 ms per operation), a connector fed faster than that must stop reading and say so,
/// leaving the rest in the source, instead of queueing without bound; then finish once the engine catches up.
/// </summary>
public sealed class BackPressureTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_slow_apply_path_pauses_the_connector_and_bounds_the_queue()
    {
        const int Events = 3_500;
        const int MaxBacklog = 1_000;
        const int MaxBatch = 200;
        await using var nats = await NatsServer.StartAsync();
        // Upserts and deletes only, so every event is applied (none dead-lettered).
        var events = IngestScenario.Events(Events, 1_000, seed: 3).Where(e => e.AsSpan().IndexOf("set_payload"u8) < 0).ToList();
        await using (var connection = await nats.ConnectAsync())
        {
            var js = new NatsJSContext(connection);
            await js.CreateStreamAsync(new StreamConfig("SLOW", ["slow.>"]));
            await NatsIngestTests.PublishAsync(js, events, new ulong[events.Count], "slow.points");
        }

        var storage = Path.Combine(Path.GetTempPath(), "quiver-backpressure-" + Guid.NewGuid().ToString("N"));
        try
        {
            await using var catalog = CollectionCatalog.Open(new CatalogOptions
            {
                StoragePath = storage,
                Shards = new ShardOptions { Fsync = false, ApplyDelay = TimeSpan.FromMilliseconds(1) },
            }, NullLogger.Instance);
            using (var config = JsonDocument.Parse("""{"vectors":{"size":4,"distance":"Euclid"}}"""))
                await catalog.CreateAsync("slow", CollectionConfig.FromCreateRequest(config.RootElement), CancellationToken.None);
            using var definition = JsonDocument.Parse(JsonSerializer.Serialize(new
            {
                kind = "nats",
                collection = "slow",
                batch = new { max_events = MaxBatch },
                backpressure = new { max_apply_backlog = MaxBacklog },
                nats = new { url = nats.Url, stream = "SLOW", subject = "slow.points" },
            }));
            await using var connectors = new ConnectorManager(catalog, storage, [ConnectorDefinition.FromJson(definition.RootElement, "slow")], NullLogger.Instance);
            connectors.StartAll();
            var connector = connectors.Get("slow");
            var collection = catalog.Get("slow");

            long maxBacklog = 0, lagWhilePaused = -1;
            var sawPaused = false;
            var deadline = DateTime.UtcNow.AddSeconds(120);
            var stream = events.Count;
            while (DateTime.UtcNow < deadline)
            {
                maxBacklog = Math.Max(maxBacklog, collection.Backlog().ApplyOperations);
                if (connector.Status.State == ConnectorState.BackPressure)
                {
                    sawPaused = true;
                    lagWhilePaused = Math.Max(lagWhilePaused, connector.Status.Lag);
                }

                if (connector.Status.Applied == (long)stream && collection.Backlog().ApplyOperations == 0)
                    break;
                await Task.Delay(10);
            }

            output.WriteLine($"events {stream}; largest apply queue {maxBacklog} (bound {MaxBacklog} + one batch of {MaxBatch}); " +
                $"back-pressure pauses {connector.Status.BackPressurePauses}; largest lag while paused {lagWhilePaused}; applied {connector.Status.Applied}");
            Assert.True(sawPaused, "the connector never reported back-pressure");
            Assert.True(connector.Status.BackPressurePauses >= 1);
            Assert.True(maxBacklog <= MaxBacklog + MaxBatch, $"the apply queue reached {maxBacklog}");
            // While paused, the rest waited in the stream, not in memory.
            Assert.True(lagWhilePaused > MaxBatch, $"lag while paused was only {lagWhilePaused}");
            // And it finished once the engine caught up.
            Assert.Equal((long)stream, connector.Status.Applied);
            Assert.Equal(ConnectorState.Running, connector.Status.State);
        }
        finally
        {
            Directory.Delete(storage, recursive: true);
        }
    }
}
