using System.Text;
using Quiver.Cluster;
using Quiver.Server.Tests.Infrastructure;

namespace Quiver.Server.Tests.Cluster;

/// <summary>Cluster metadata (compare-and-set) and membership (heartbeats with expiry) on a real nats-server.</summary>
public sealed class MetadataAndMembershipTests(NatsFixture fixture) : IClassFixture<NatsFixture>
{
    private readonly NatsServer _nats = fixture.Server;

    [Fact]
    public async Task Metadata_changes_are_compare_and_set_so_only_one_of_two_racing_writers_wins()
    {
        await using var connection = await _nats.ConnectAsync();
        var store = await JetStreamMetadataStore.OpenAsync(connection);
        var key = JetStreamMetadataStore.Key("collections", "my docs.v2");
        Assert.Equal("collections.my=20docs=2Ev2", key);
        Assert.Equal("my docs.v2", JetStreamMetadataStore.Unescape("my=20docs=2Ev2"));
        Assert.Null(await store.GetAsync(key));

        var created = await store.CreateAsync(key, "v1"u8.ToArray());
        Assert.NotNull(created);
        Assert.Null(await store.CreateAsync(key, "other"u8.ToArray()));

        // Two nodes read revision r; the first update wins, the second is told to re-read.
        var read = (await store.GetAsync(key))!;
        Assert.Equal(created, read.Revision);
        var won = await store.UpdateAsync(key, "v2"u8.ToArray(), read.Revision);
        Assert.NotNull(won);
        Assert.Null(await store.UpdateAsync(key, "v2-lost"u8.ToArray(), read.Revision));
        Assert.Equal("v2", Encoding.UTF8.GetString((await store.GetAsync(key))!.Value));

        Assert.NotNull(await store.CreateAsync(JetStreamMetadataStore.Key("collections", "b"), "b"u8.ToArray()));
        Assert.NotNull(await store.CreateAsync(JetStreamMetadataStore.Key("aliases", "x"), "x"u8.ToArray()));
        Assert.Equal(["collections.b", key], (await store.KeysAsync("collections.")).Order(StringComparer.Ordinal));

        Assert.False(await store.DeleteAsync(key, read.Revision));
        Assert.True(await store.DeleteAsync(key, won!.Value));
        Assert.Null(await store.GetAsync(key));
        Assert.Equal(["collections.b"], await store.KeysAsync("collections."));
    }

    [Fact]
    public async Task Members_are_live_while_they_heartbeat_and_gone_after_leaving_or_three_missed_beats()
    {
        await using var connection = await _nats.ConnectAsync();
        var beat = TimeSpan.FromMilliseconds(300);
        await using var a = await Membership.JoinAsync(connection, "node-a", "127.0.0.1:7001", beat);
        var b = await Membership.JoinAsync(connection, "node-b", "127.0.0.1:7002", beat);
        var c = await Membership.JoinAsync(connection, "node-c", "127.0.0.1:7003", beat);
        Assert.Equal([new Member("node-a", "127.0.0.1:7001"), new Member("node-b", "127.0.0.1:7002"), new Member("node-c", "127.0.0.1:7003")], await a.LiveAsync());

        // Heartbeats keep members alive well past the bucket's age.
        await Task.Delay(beat * 5);
        Assert.Equal(3, (await a.LiveAsync()).Count);

        // A graceful leave is seen at once.
        await b.LeaveAsync();
        await b.DisposeAsync();
        Assert.Equal(["node-a", "node-c"], (await a.LiveAsync()).Select(m => m.NodeId));

        // A node that stops beating (as if killed) drops out after three beats.
        await c.DisposeAsync();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((await a.LiveAsync()).Count > 1 && DateTime.UtcNow < deadline)
            await Task.Delay(100);
        Assert.Equal(["node-a"], (await a.LiveAsync()).Select(m => m.NodeId));
    }
}
