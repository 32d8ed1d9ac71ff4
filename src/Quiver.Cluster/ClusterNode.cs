using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using Quiver.Cluster.Internal;
using Quiver.Engine.Catalog;
using Quiver.Storage.Wal;

namespace Quiver.Cluster;

/// <summary>
/// One node of a Quiver cluster on NATS JetStream (DESIGN.md, "Cluster mode"). Every node is the same: it heartbeats
/// its membership, learns the collections from the metadata store, computes placement from the live members
/// (rendezvous hashing; no coordinator), holds replicas of its shards by following their logs, and tells the other
/// nodes which shards it serves caught up. Writes from any node go straight to the shard's log; reads are routed by
/// the server to one serving replica per shard (<see cref="ReadPlan"/>).
/// </summary>
public sealed partial class ClusterNode : IClusterHost, IAsyncDisposable
{
    private readonly ClusterOptions _options;
    private readonly NatsConnection _nats;
    private readonly JetStreamMetadataStore _meta;
    private readonly Membership _membership;
    private readonly ILogger _logger;
    private readonly HttpClient _http;
    private readonly SemaphoreSlim _sync = new(1, 1);
    private readonly CancellationTokenSource _stop = new();

    /// <summary>Message ids of this process's appends start with it: unique across restarts of the same node.</summary>
    private readonly string _writerId;

    /// <summary>The collections of the metadata store as of the last sync, by name.</summary>
    private volatile IReadOnlyDictionary<string, CollectionRecord> _records = new Dictionary<string, CollectionRecord>(StringComparer.Ordinal);

    /// <summary>The uid of the incarnation of each collection opened here.</summary>
    private readonly ConcurrentDictionary<string, string> _attached = new(StringComparer.Ordinal);

    private volatile ClusterView _view;

    /// <summary>Replicas placement moved away, no longer advertised, closed a beat later (only touched under <see cref="_sync"/>).</summary>
    private readonly Dictionary<(string Uid, int Shard), DateTime> _retiring = [];
    private bool _pruned;

    /// <summary>Peers removed by <see cref="RemovePeerAsync"/>, kept out of the view until then (locked with <see cref="_lastSeen"/>).</summary>
    private readonly Dictionary<string, DateTime> _removedUntil = new(StringComparer.Ordinal);

    /// <summary>Each member's last advertised state, and since when its key has been missing (locked on itself).</summary>
    private readonly Dictionary<string, (DateTime? MissingSince, MemberState State)> _lastSeen = new(StringComparer.Ordinal);
    private CollectionCatalog? _catalog;
    private Task? _loop;
    private string _advertised;
    private int _readRotation;

    private ClusterNode(ClusterOptions options, NatsConnection nats, JetStreamMetadataStore meta, Membership membership, ILogger logger, string advertised)
    {
        _options = options;
        _nats = nats;
        _meta = meta;
        _membership = membership;
        _logger = logger;
        _advertised = advertised;
        _writerId = $"{options.NodeId}-{Guid.NewGuid():N}";
        _view = new ClusterView([options.NodeId], new Dictionary<string, MemberState>(StringComparer.Ordinal));
        _http = new HttpClient(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(2), PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    public string NodeId => _options.NodeId;

    /// <summary>
    /// Connects to NATS (JetStream must be on), opens the metadata and membership buckets and joins. The node
    /// serves nothing until <see cref="AttachCatalogAsync"/>.
    /// </summary>
    public static async Task<ClusterNode> StartAsync(ClusterOptions options, ILogger logger, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var nats = new NatsConnection(new NatsOpts { Url = options.NatsUrl, Name = $"quiver-{options.NodeId}" });
        try
        {
            await nats.ConnectAsync().ConfigureAwait(false);
            try
            {
                _ = await new NatsJSContext(nats).GetAccountInfoAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (NatsJSException e)
            {
                throw new InvalidOperationException($"cluster.nats_url {options.NatsUrl}: JetStream is not available there ({e.Message}); start nats-server with -js", e);
            }

            var meta = await JetStreamMetadataStore.OpenAsync(nats, $"{options.Prefix}_META", options.LogReplicas, cancellationToken).ConfigureAwait(false);
            var advertised = Serialize(new MemberState(options.AdvertiseUrl.ToString(), []));
            var membership = await Membership.JoinAsync(nats, options.NodeId, advertised, options.Heartbeat, $"{options.Prefix}_MEMBERS", options.LogReplicas, cancellationToken).ConfigureAwait(false);
            ClusterLog.Joined(logger, options.NodeId, options.NatsUrl, options.AdvertiseUrl);
            return new ClusterNode(options, nats, meta, membership, logger, advertised);
        }
        catch
        {
            await nats.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Opens the cluster's collections in the catalog (built with this node as its host) and starts following changes.</summary>
    public async Task AttachCatalogAsync(CollectionCatalog catalog, CancellationToken cancellationToken = default)
    {
        _catalog = catalog;
        // Every collection is open here before the node serves (a request must not find it missing because this
        // node started a moment ago); a round that could not open one is tried again, for up to a minute.
        var started = System.Diagnostics.Stopwatch.StartNew();
        await SyncAsync(cancellationToken).ConfigureAwait(false);
        while (!_pruned && started.Elapsed < TimeSpan.FromMinutes(1))
        {
            await Task.Delay(_options.Heartbeat / 2, cancellationToken).ConfigureAwait(false);
            await SyncAsync(cancellationToken).ConfigureAwait(false);
        }

        _loop = Task.Run(LoopAsync, CancellationToken.None);
        if (_options.SnapshotInterval > TimeSpan.Zero)
            _snapshotLoop = Task.Run(SnapshotLoopAsync, CancellationToken.None);
    }

    public bool Hosts(string collection, int shard) =>
        DesiredReplicas(collection) is { } placement && shard < placement.Length && placement[shard].Contains(_options.NodeId, StringComparer.Ordinal);

    public IShardLog OpenReplicaLog(string incarnation, int shard, ulong firstSequence) =>
        // Called while a collection or replica opens (synchronous engine code), never on a request path.
        JetStreamShardLog.OpenExistingAsync(_nats, LogOptions(incarnation, shard)).GetAwaiter().GetResult()
            ?? throw new InvalidOperationException($"the log of shard {shard} of incarnation {incarnation} does not exist (deleted?)");

    public async ValueTask<IShardLog> OpenWriterAsync(string incarnation, int shard, CancellationToken cancellationToken) =>
        await JetStreamShardLog.OpenExistingAsync(_nats, LogOptions(incarnation, shard), cancellationToken).ConfigureAwait(false)
            ?? throw Segment.Errors.QuiverException.Unavailable($"Service unavailable: the log of shard {shard} (incarnation {incarnation}) does not exist: the collection was deleted or resharded");

    public async ValueTask<ulong> StoredLastSequenceAsync(string incarnation, int shard, CancellationToken cancellationToken)
    {
        var stream = await new NatsJSContext(_nats).GetStreamAsync(LogOptions(incarnation, shard).Stream, cancellationToken: cancellationToken).ConfigureAwait(false);
        return stream.Info.State.LastSeq;
    }

    /// <summary>
    /// How long after a replica starts serving its reads first catch up with the log: a write acknowledged just before
    /// the writer saw the new replica was not waited for there.
    /// </summary>
    public TimeSpan FreshReplicaWindow => _options.Heartbeat * 4;

    private JetStreamShardLogOptions LogOptions(string uid, int shard) => new()
    {
        Stream = $"{_options.Prefix}_LOG_{uid}_{shard}",
        Subject = $"{_options.Prefix.ToLowerInvariant()}.log.{uid}.{shard}",
        Replicas = _options.LogReplicas,
        Shared = true,
        WriterId = _writerId,
    };

    /// <summary>The replicas each shard should have under the current membership, heaviest first; null for an unknown collection.</summary>
    private IReadOnlyList<string>[]? DesiredReplicas(string collection)
    {
        if (!_records.TryGetValue(collection, out var record))
            return null;
        var parameters = record.Config["params"]!.AsObject();
        var shards = parameters["shard_number"]!.GetValue<int>();
        var replication = parameters["replication_factor"]?.GetValue<int>() ?? 1;
        return Placement.Assign(collection, shards, replication, _view.LiveIds);
    }

    private static string Serialize(MemberState state) => JsonSerializer.Serialize(state, ClusterJsonContext.Default.MemberState);

    /// <summary>
    /// Stops following the cluster and leaves at once, so the other nodes take over this node's shards now rather
    /// than after three missed beats. The catalog (whose replicas read through this node's connection) closes after
    /// this and before <see cref="DisposeAsync"/>.
    /// </summary>
    public async ValueTask LeaveAsync()
    {
        if (_stop.IsCancellationRequested)
            return;
        await _stop.CancelAsync().ConfigureAwait(false);
        foreach (var loop in new[] { _loop, _snapshotLoop })
        {
            if (loop is null)
                continue;
            try
            {
                await loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        try
        {
            await _membership.LeaveAsync().ConfigureAwait(false);
        }
        catch (NatsException)
        {
            // NATS unreachable at shutdown: the key expires after three beats instead.
        }

    }

    /// <summary>Leaves (if not yet) and closes the NATS connection.</summary>
    public async ValueTask DisposeAsync()
    {
        await LeaveAsync().ConfigureAwait(false);
        await _membership.DisposeAsync().ConfigureAwait(false);
        await _nats.DisposeAsync().ConfigureAwait(false);
        _http.Dispose();
        _sync.Dispose();
        _stop.Dispose();
    }

    /// <summary>The live members and what each advertises.</summary>
    private sealed record ClusterView(IReadOnlyList<string> LiveIds, IReadOnlyDictionary<string, MemberState> States);
}
