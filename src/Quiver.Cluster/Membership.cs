using System.Text;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;

namespace Quiver.Cluster;

/// <summary>A live cluster member: its node id and the address other nodes reach it at.</summary>
public sealed record Member(string NodeId, string Address);

/// <summary>
/// Cluster membership on a JetStream KV bucket: each node puts its key every heartbeat, and the bucket's
/// <c>MaxAge</c> (three heartbeats) drops the key of a node that stopped (killed, partitioned), so the keys present
/// are the live members. Per-key TTLs would need nats-server 2.11; a bucket-wide age works on 2.9 and later.
/// </summary>
public sealed class Membership : IAsyncDisposable
{
    private readonly INatsKVStore _store;
    private readonly string _key;
    private byte[] _address;
    private readonly TimeSpan _heartbeat;
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    private Membership(INatsKVStore store, string nodeId, string address, TimeSpan heartbeat)
    {
        _store = store;
        NodeId = nodeId;
        _key = JetStreamMetadataStore.Key(nodeId);
        _address = Encoding.UTF8.GetBytes(address);
        _heartbeat = heartbeat;
    }

    public string NodeId { get; }

    /// <summary>Puts this node's key now and then every <paramref name="heartbeat"/> until it leaves or is disposed.</summary>
    public static async Task<Membership> JoinAsync(
        INatsConnection connection, string nodeId, string address, TimeSpan heartbeat, string bucket = "QUIVER_MEMBERS", int replicas = 1, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(heartbeat, TimeSpan.FromMilliseconds(10));
        var kv = new NatsKVContext(new NatsJSContext((NatsConnection)connection));
        var store = await kv.CreateOrUpdateStoreAsync(
            new NatsKVConfig(bucket) { History = 1, MaxAge = heartbeat * 3, NumberOfReplicas = replicas, Storage = NatsKVStorageType.File },
            cancellationToken).ConfigureAwait(false);
        var member = new Membership(store, nodeId, address, heartbeat);
        await store.PutAsync(member._key, member._address, cancellationToken: cancellationToken).ConfigureAwait(false);
        member._loop = Task.Run(member.HeartbeatAsync, CancellationToken.None);
        return member;
    }

    private async Task HeartbeatAsync()
    {
        using var timer = new PeriodicTimer(_heartbeat);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                // A missed beat (a NATS leader election) is retried at the next tick; three in a row drop the key.
                var put = await _store.TryPutAsync(_key, Volatile.Read(ref _address), cancellationToken: _stop.Token).ConfigureAwait(false);
                _ = put.Success;
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Left or disposed.
        }
    }

    /// <summary>
    /// Changes what this node advertises (its address, or a document with its address and state) and puts it now,
    /// so other nodes see the change without waiting for the next beat.
    /// </summary>
    public async ValueTask SetAddressAsync(string address, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(address);
        var value = Encoding.UTF8.GetBytes(address);
        Volatile.Write(ref _address, value);
        await _store.PutAsync(_key, value, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The members whose keys are present (heartbeating within the last three beats).</summary>
    public async ValueTask<IReadOnlyList<Member>> LiveAsync(CancellationToken cancellationToken = default)
    {
        var members = new List<Member>();
        try
        {
            await foreach (var key in _store.GetKeysAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                var entry = await _store.TryGetEntryAsync<byte[]>(key, cancellationToken: cancellationToken).ConfigureAwait(false);
                if (entry.Success && entry.Value.Value is { } address)
                    members.Add(new Member(JetStreamMetadataStore.Unescape(key), Encoding.UTF8.GetString(address)));
            }
        }
        catch (NatsKVException) when (members.Count == 0)
        {
            // No keys at all.
        }

        members.Sort((a, b) => string.CompareOrdinal(a.NodeId, b.NodeId));
        return members;
    }

    /// <summary>Removes another (stopped) node's key now, rather than when its last beat ages out.</summary>
    public async ValueTask RemoveAsync(string nodeId, CancellationToken cancellationToken = default) =>
        await _store.TryDeleteAsync(JetStreamMetadataStore.Key(nodeId), cancellationToken: cancellationToken).ConfigureAwait(false);

    /// <summary>Stops heartbeating and removes this node's key at once (a graceful shutdown), rather than after three beats.</summary>
    public async ValueTask LeaveAsync(CancellationToken cancellationToken = default)
    {
        await StopAsync().ConfigureAwait(false);
        await _store.TryDeleteAsync(_key, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask StopAsync()
    {
        if (!_stop.IsCancellationRequested)
            await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
            await _loop.ConfigureAwait(false);
    }

    /// <summary>Stops heartbeating without removing the key: it expires after three beats, as a crashed node's would.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stop.Dispose();
    }
}
