using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Quiver.Engine.Catalog;
using Quiver.Engine.Collections;
using Quiver.Engine.Query;
using Quiver.Engine.Shards;
using Quiver.Ingest.Connectors;
using Quiver.Ingest.Events;
using Quiver.Segment.Points;

namespace Quiver.Ingest.Tests.Events;

/// <summary>The writer against a real catalog in a temporary folder: poison singled out, order kept, retries bounded.</summary>
public sealed class EventWriterTests : IAsyncLifetime
{
    private readonly string _storage = Path.Combine(Path.GetTempPath(), "quiver-writer-" + Guid.NewGuid().ToString("N"));
    private CollectionCatalog _catalog = null!;

    public async Task InitializeAsync()
    {
        // A slow apply path: a write's log append returns long before it is applied.
        _catalog = CollectionCatalog.Open(new CatalogOptions { StoragePath = _storage, Shards = new ShardOptions { Fsync = false, ApplyDelay = TimeSpan.FromMilliseconds(20) } }, NullLogger.Instance);
        using var config = JsonDocument.Parse("""{"vectors":{"size":2,"distance":"Euclid"}}""");
        await _catalog.CreateAsync("c", CollectionConfig.FromCreateRequest(config.RootElement), CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _catalog.DisposeAsync();
        Directory.Delete(_storage, recursive: true);
    }

    private static ConnectorDefinition Definition(string collection = "c") => new()
    {
        Name = "w",
        Kind = ConnectorKind.Nats,
        Collection = collection,
        RetryMaxAttempts = 3,
        RetryInitialBackoffMs = 1,
        RetryMaxBackoffMs = 2,
    };

    private static SourceEvent[] Events(params string[] json) => [.. json.Select(j => new SourceEvent(Encoding.UTF8.GetBytes(j), null, null, null))];

    private static EventWriter Writer(CollectionCatalog catalog, ConnectorDefinition definition, ConnectorStatus status) =>
        new(catalog, definition, status, NullLogger.Instance);

    [Fact]
    public async Task Poison_is_singled_out_and_the_rest_of_the_batch_is_written_in_order()
    {
        var writer = Writer(_catalog, Definition(), new ConnectorStatus());
        var outcomes = await writer.WriteAsync(Events(
            """{"op":"upsert","id":1,"vector":[1,1],"payload":{"v":1}}""",
            """{"op":"upsert","id":2,"vector":[1,1,1]}""",
            """{"op":"set_payload","id":999,"payload":{"a":1}}""",
            """{"op":"upsert","id":3,"vector":[2,2]}""",
            """{"op":"upsert","id":1,"vector":[3,3],"payload":{"v":2}}"""), TimeSpan.FromSeconds(30), CancellationToken.None);
        Assert.Equal([true, false, false, true, true], outcomes.Select(o => o.Applied));
        Assert.Contains("expected dim: 2, got 3", outcomes[1].DeadLetterReason, StringComparison.Ordinal);
        Assert.Contains("999", outcomes[2].DeadLetterReason, StringComparison.Ordinal);
        await _catalog.Get("c").CatchUpAsync(CancellationToken.None);
        var points = _catalog.Get("c").Get([PointId.FromNumber(1), PointId.FromNumber(2), PointId.FromNumber(3)], WithPayload.All, WithVector.All);
        Assert.Equal([1UL, 3UL], points.Select(p => ulong.Parse(p.Id.ToString(), System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal("""{"v":2}""", Encoding.UTF8.GetString(points[0].Payload!.Utf8));
    }

    [Fact]
    public async Task A_payload_change_right_after_an_unapplied_upsert_is_written_not_dead_lettered()
    {
        var writer = Writer(_catalog, Definition(), new ConnectorStatus());
        var first = await writer.WriteAsync(Events("""{"op":"upsert","id":5,"vector":[1,1]}"""), TimeSpan.FromSeconds(30), CancellationToken.None);
        var second = await writer.WriteAsync(Events("""{"op":"set_payload","id":5,"payload":{"seen":true}}"""), TimeSpan.FromSeconds(30), CancellationToken.None);
        Assert.True(first[0].Applied);
        Assert.True(second[0].Applied, second[0].DeadLetterReason);
        await _catalog.Get("c").CatchUpAsync(CancellationToken.None);
        Assert.Equal("""{"seen":true}""", Encoding.UTF8.GetString(_catalog.Get("c").Get([PointId.FromNumber(5)], WithPayload.All, WithVector.None)[0].Payload!.Utf8));
    }

    [Fact]
    public async Task A_missing_collection_is_retried_then_dead_lettered_with_the_reason()
    {
        var status = new ConnectorStatus();
        var writer = Writer(_catalog, Definition("absent"), status);
        var outcomes = await writer.WriteAsync(Events("""{"op":"delete","id":1}""", """{"op":"delete","id":2}"""), TimeSpan.FromSeconds(30), CancellationToken.None);
        Assert.All(outcomes, o => Assert.Equal("collection `absent` does not exist (after 3 attempts)", o.DeadLetterReason));
        Assert.Equal(2, status.Retries);
    }
}
