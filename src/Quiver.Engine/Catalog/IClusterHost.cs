using Quiver.Engine.Collections;
using Quiver.Storage.Wal;

namespace Quiver.Engine.Catalog;

/// <summary>
/// What cluster mode plugs into the engine (DESIGN.md, "Cluster mode"): where each shard's log lives, which shards
/// this node holds replicas of, how a write waits for the other replicas, and where collection definitions are
/// agreed. The engine code is the same in both modes; without a host the catalog is a single node's.
/// </summary>
public interface IClusterHost
{
    /// <summary>Whether this node holds a replica of the shard under the current placement.</summary>
    bool Hosts(string collection, int shard);

    // Every call below names the collection's incarnation (its logs' id): while a new incarnation opens beside the
    // old one (resharding), a request holding the old one must reach the old logs, never the new.

    /// <summary>
    /// Before a replica opens in <paramref name="directory"/> (whose state covers the log up to
    /// <paramref name="flushedSequence"/>): when the log no longer holds the records after that (compacted), or the
    /// folder is empty and a snapshot is there, the newest shard snapshot replaces the folder's content, so the replica
    /// replays only the log's tail. Cancelling leaves the folder as it was.
    /// </summary>
    void PrepareReplica(string incarnation, int shard, string directory, ulong flushedSequence, CancellationToken cancellationToken);

    /// <summary>The shard's shared log for a replica here, which follows it from <paramref name="firstSequence"/> on.</summary>
    IShardLog OpenReplicaLog(string incarnation, int shard, ulong firstSequence);

    /// <summary>The shard's shared log for appends only (this node holds no replica of it).</summary>
    ValueTask<IShardLog> OpenWriterAsync(string incarnation, int shard, CancellationToken cancellationToken);

    /// <summary>Waits until every live replica of the shard on another node applied <paramref name="sequence"/>.</summary>
    ValueTask WaitReplicasAsync(string collection, string incarnation, int shard, ulong sequence, CancellationToken cancellationToken);

    /// <summary>The last sequence the shard's log has stored, as the log reports it now (a strong read waits for it).</summary>
    ValueTask<ulong> StoredLastSequenceAsync(string incarnation, int shard, CancellationToken cancellationToken);

    /// <summary>Agrees a new collection with the cluster; every node then opens it (<see cref="CollectionCatalog.AttachAsync"/>, also on this node).</summary>
    ValueTask CreateCollectionAsync(string name, CollectionConfig config, CancellationToken cancellationToken);

    /// <summary>
    /// Agrees a changed configuration: <paramref name="change"/> is applied to the configuration as the metadata
    /// store holds it, and stored only if nobody changed it meanwhile (else Conflict).
    /// </summary>
    ValueTask UpdateCollectionAsync(string name, Func<CollectionConfig, CollectionConfig> change, CancellationToken cancellationToken);

    /// <summary>Removes a collection from the cluster; false when it did not exist.</summary>
    ValueTask<bool> DeleteCollectionAsync(string name, CancellationToken cancellationToken);
}
