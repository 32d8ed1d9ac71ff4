using Microsoft.Extensions.Logging;
using Quiver.Engine.Catalog;
using Quiver.Engine.Operations;
using Quiver.Engine.Query;
using Quiver.Engine.Shards;
using Quiver.Segment.Errors;
using Quiver.Storage.Wal;

namespace Quiver.Engine.Collections;

/// <summary>
/// Cluster mode: a node holds replicas of some shards only. Writes to any shard go to its shared log (through the
/// replica here, or through a log writer when there is none); reads run over the replicas here, or over a view of the
/// ones a coordinating node asked for.
/// </summary>
public sealed partial class Collection
{
    private readonly IClusterHost? _cluster;
    private readonly IShardLog?[] _writers;
    private readonly Lock _hosting = new();
    private bool _isView;
    private ShardOptions _options = new();
    private ILogger? _logger;

    /// <summary>Cluster mode: which incarnation of the name this is (its logs' id); null on a single node.</summary>
    public string? Incarnation { get; private init; }

    /// <summary>The shards this node holds a replica of, in id order.</summary>
    public IReadOnlyList<int> HostedShards => _set.ReadingIds;

    /// <summary>Shards whose replica here stopped applying because its log lost records (compacted): rebuild them.</summary>
    public IReadOnlyList<int> FaultedShards
    {
        get
        {
            var set = _set;
            return [.. set.ReadingIds.Where((_, i) => set.Reading[i].LogFaulted)];
        }
    }

    /// <summary>The shard a point lives in (the same on every node and in every version).</summary>
    public int ShardOfPoint(Segment.Points.PointId id) => ShardOf(id);

    /// <summary>The total number of shards (in cluster mode some of them live on other nodes).</summary>
    public int ShardNumber => _shardNumber;

    /// <summary>
    /// A read-only view over the given shards, which must all be held here: a coordinating node asked this node
    /// for its part of a scatter-gather read. Unavailable when a shard has moved away since the coordinator looked.
    /// </summary>
    public Collection View(IReadOnlyCollection<int> shards)
    {
        ArgumentNullException.ThrowIfNull(shards);
        var replicas = _set.ById;
        var selected = new Shard?[_shardNumber];
        foreach (var shard in shards)
        {
            if (shard < 0 || shard >= _shardNumber)
                throw QuiverException.BadInput($"shard {shard}: the collection has shards 0 to {_shardNumber - 1}");
            selected[shard] = replicas[shard] ?? throw QuiverException.Unavailable($"Service unavailable: shard {shard} of {Name} has no replica on this node");
        }

        return new Collection(Name, _directory, Config, selected, _cluster) { _isView = true, _allReplicas = replicas };
    }

    /// <summary>Every replica on this node, by shard id, for a view (whose own set holds only its shards).</summary>
    private Shard?[]? _allReplicas;

    /// <summary>This node's replica of a shard, for lookups of a point's stored vector (any replica here will do).</summary>
    private Shard? HostedReplica(int shard) => (_allReplicas ?? _set.ById)[shard];

    /// <summary>The replica here of the shard a point lives in; Unavailable in cluster mode when this node holds none.</summary>
    private Shard ReplicaOfPoint(Segment.Points.PointId id)
    {
        var shard = ShardOf(id);
        return HostedReplica(shard) ?? throw QuiverException.Unavailable(
            $"Service unavailable: point {id} lives in shard {shard} of {Name}, which has no replica on this node: in cluster mode, query by vector rather than by point id");
    }

    /// <summary>The replica a read of one point uses: in a view only the view's shards answer, so no point is returned twice.</summary>
    private Shard? ReadReplica(int shard) => _set.ById[shard];

    /// <summary>
    /// Starts or stops holding a replica of a shard (placement changed). Starting replays the shard's log into the
    /// local state before the replica is published, so it is caught up when it appears in <see cref="HostedShards"/>.
    /// Stopping unpublishes it first (new reads and writes no longer find it), then closes it: waits on it then fail
    /// as Unavailable, and writes that held it go on through the log. Cancelling stops a start that is still fetching
    /// the shard's snapshot (the node is stopping).
    /// </summary>
    public async ValueTask SetHostedAsync(int shard, bool hosted, CancellationToken cancellationToken = default)
    {
        if (_isView)
            throw new InvalidOperationException("a view does not host shards");
        ArgumentOutOfRangeException.ThrowIfNegative(shard);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(shard, _shardNumber);
        Shard? closing = null;
        if (hosted)
        {
            if (_set.ById[shard] is not null)
                return;
            var opened = OpenReplica(_directory, Config, shard, _options, _logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, _cluster, Incarnation, cancellationToken);
            opened.MarkServing();
            lock (_hosting)
            {
                var replicas = (Shard?[])_set.ById.Clone();
                replicas[shard] = opened;
                _set = new ReplicaSet(replicas);
            }
        }
        else
        {
            lock (_hosting)
            {
                var replicas = (Shard?[])_set.ById.Clone();
                closing = replicas[shard];
                replicas[shard] = null;
                _set = new ReplicaSet(replicas);
            }
        }

        if (closing is not null)
            await closing.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Appends a shard's operations to its log: through the replica here, or straight to the log.</summary>
    private async ValueTask<ulong> SubmitAsync(int shard, IReadOnlyList<PointOperation> operations)
    {
        if (_set.ById[shard] is { } replica)
        {
            try
            {
                return await replica.SubmitBatchAsync(operations).ConfigureAwait(false);
            }
            catch (ObjectDisposedException) when (_cluster is not null)
            {
                // The replica moved away between the lookup and the append: nothing was appended through it.
            }
        }

        if (_cluster is null)
            throw new InvalidOperationException($"shard {shard} of {Name} is not open");
        var writer = Volatile.Read(ref _writers[shard]);
        if (writer is null)
        {
            var opened = await _cluster.OpenWriterAsync(Incarnation!, shard, CancellationToken.None).ConfigureAwait(false);
            writer = Interlocked.CompareExchange(ref _writers[shard], opened, null);
            if (writer is null)
            {
                writer = opened;
            }
            else
            {
                await opened.DisposeAsync().ConfigureAwait(false);
            }
        }

        return await writer.AppendAllAsync(Shard.Encode(operations), CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>Waits until the replica here (if any) and, in cluster mode, every other serving replica applied <paramref name="sequence"/>.</summary>
    private async ValueTask WaitAppliedAsync(int shard, ulong sequence, CancellationToken cancellationToken)
    {
        if (_set.ById[shard] is { } replica)
        {
            try
            {
                await replica.WaitAppliedAsync(sequence, cancellationToken).ConfigureAwait(false);
            }
            catch (QuiverException ex) when (_cluster is not null && ex.Error.Kind == ErrorKind.Unavailable)
            {
                // The replica here closed (moved away): the replicas that serve the shard now are waited for below.
            }
        }

        if (_cluster is not null)
            await _cluster.WaitReplicasAsync(Name, Incarnation!, shard, sequence, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Waits until this node's replica of a shard applied <paramref name="sequence"/>; false when it holds none.</summary>
    public async ValueTask<bool> WaitLocalAppliedAsync(int shard, ulong sequence, CancellationToken cancellationToken)
    {
        if (shard < 0 || shard >= _shardNumber || _set.ById[shard] is not { } replica)
            return false;
        await replica.WaitAppliedAsync(sequence, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Starts the fresh-replica window of every replica here now (the collection has just been published).</summary>
    internal void MarkServing()
    {
        foreach (var shard in ReadShards)
            shard.MarkServing();
    }

    /// <summary>
    /// A strong read's wait: until this node's replicas of <paramref name="shards"/> applied everything their logs
    /// had stored when the read started. Only replicas that started serving within <paramref name="freshWithin"/>
    /// wait, unless that is null (every shard waits).
    /// </summary>
    public async ValueTask CatchUpWithLogAsync(IReadOnlyList<int> shards, TimeSpan? freshWithin, CancellationToken cancellationToken)
    {
        if (_cluster is null)
            return;
        var replicas = _set.ById;
        var waits = new List<Task>();
        foreach (var shard in shards)
        {
            if (shard < 0 || shard >= _shardNumber || replicas[shard] is not { } replica)
                continue;
            if (freshWithin is { } window && replica.ServingFor > window)
                continue;
            waits.Add(CatchUpAsync(shard, replica));
        }

        await Task.WhenAll(waits).ConfigureAwait(false);

        async Task CatchUpAsync(int shard, Shard replica)
        {
            var last = await _cluster.StoredLastSequenceAsync(Incarnation!, shard, cancellationToken).ConfigureAwait(false);
            await replica.WaitAppliedAsync(last, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Cluster mode's shard snapshot: hands <paramref name="copyFile"/> every file of a consistent copy of this node's
    /// replica of the shard and returns the log sequence it covers; null when this node holds no replica of it.
    /// </summary>
    public ulong? CopyShardState(int shard, Action<string, string> copyFile) =>
        shard >= 0 && shard < _shardNumber && _set.ById[shard] is { } replica ? replica.CopyStateTo(copyFile) : null;

    /// <summary>
    /// Resharding from a compacted log: reads the shard state restored under <paramref name="directory"/> (as
    /// <c>shards/0</c>) by opening it alone, and hands over its payload index definitions, then its points page by page
    /// (with payloads and vectors). Returns the log sequence that state covers.
    /// </summary>
    public static async ValueTask<ulong> ReadShardStateAsync(
        string directory, CollectionConfig config, ILogger logger,
        Func<IReadOnlyList<(string Field, byte[] Schema)>, ValueTask> onIndexes, Func<IReadOnlyList<PointRecord>, ValueTask> onPoints)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(onIndexes);
        ArgumentNullException.ThrowIfNull(onPoints);
        var covered = Shard.FlushedSequenceIn(Path.Combine(directory, "shards", "0"));
        var json = (System.Text.Json.Nodes.JsonObject)config.Json.DeepClone();
        json["params"]!["shard_number"] = 1;
        await using var state = Open("snapshot", directory, CollectionConfig.FromPersisted(json), new ShardOptions { Fsync = false, FlushInterval = TimeSpan.FromHours(1) }, logger);
        await onIndexes(state.ReadShards[0].Read(set => set.Segments.Length > 0 ? set.Segments[0].Indexes.Definitions : [])).ConfigureAwait(false);
        Segment.Points.PointId? offset = null;
        do
        {
            var page = state.Scroll(new ScrollRequest(null, offset, 500, null, WithPayload.All, WithVector.All));
            if (page.Points.Count > 0)
                await onPoints(page.Points).ConfigureAwait(false);
            offset = page.NextPageOffset;
        }
        while (offset is not null);
        return covered;
    }

    /// <summary>The last sequence this node's replica of a shard applied; null when it holds none.</summary>
    public ulong? AppliedSequenceOf(int shard) =>
        shard >= 0 && shard < _shardNumber && _set.ById[shard] is { } replica ? replica.AppliedSequence : null;
}
