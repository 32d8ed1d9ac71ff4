using Microsoft.Extensions.Logging;
using Quiver.Engine.Catalog;
using Quiver.Engine.Shards;
using Quiver.Segment.Errors;
using Quiver.Segment.Points;
using Quiver.Segment.Segments;

namespace Quiver.Engine.Collections;

/// <summary>
/// A collection: its configuration and its shards. Validates every write completely before any of it is
/// logged (so bad input never half-applies), routes points to shards by id, and merges per-shard reads.
/// </summary>
public sealed partial class Collection : IAsyncDisposable
{
    private readonly string _directory;
    private readonly int _shardNumber;
    private CollectionConfig _config;

    /// <summary>The replicas here, published as one snapshot so a reader never pairs one version with another.</summary>
    private volatile ReplicaSet _set;

    private Collection(string name, string directory, CollectionConfig config, Shard?[] replicas, IClusterHost? cluster)
    {
        Name = name;
        _directory = directory;
        _config = config;
        _shardNumber = replicas.Length;
        _set = new ReplicaSet(replicas);
        _cluster = cluster;
        _writers = new Storage.Wal.IShardLog?[replicas.Length];
    }

    public string Name { get; }

    public CollectionConfig Config => Volatile.Read(ref _config);

    internal static Collection Open(string name, string directory, CollectionConfig config, ShardOptions options, ILogger logger, IClusterHost? cluster = null, string? incarnation = null)
    {
        var shards = new Shard?[config.ShardNumber];
        try
        {
            for (var i = 0; i < shards.Length; i++)
            {
                if (cluster is null || cluster.Hosts(name, i))
                    shards[i] = OpenReplica(directory, config, i, options, logger, cluster, incarnation, CancellationToken.None);
            }
        }
        catch
        {
            foreach (var shard in shards)
                shard?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }

        return new Collection(name, directory, config, shards, cluster) { _options = options, _logger = logger, Incarnation = incarnation };
    }

    private static Shard OpenReplica(
        string directory, CollectionConfig config, int shard, ShardOptions options, ILogger logger, IClusterHost? cluster, string? incarnation, CancellationToken cancellationToken)
    {
        var spaces = config.VectorSpaces
            .Select(s => new SegmentVectorSpace(s.Name, s.Dimension, s.Distance.ToMetric(), s.Datatype))
            .ToArray();
        var path = Path.Combine(directory, "shards", shard.ToString(System.Globalization.CultureInfo.InvariantCulture));
        cluster?.PrepareReplica(incarnation!, shard, path, Shard.FlushedSequenceIn(path), cancellationToken);
        return Shard.Open(path, spaces, options, IndexingOf(config), logger, cluster is null ? null : first => cluster.OpenReplicaLog(incarnation!, shard, first));
    }

    internal void ReplaceConfig(CollectionConfig config)
    {
        Volatile.Write(ref _config, config);
        var indexing = IndexingOf(config);
        foreach (var shard in ReadShards)
            shard.UpdateIndexing(indexing);
    }

    /// <summary>
    /// The optimizer settings of a collection. Graph parameters are per vector space (the collection's hnsw_config
    /// merged with the vector's own); the thread and full-scan settings are the collection's.
    /// </summary>
    private static ShardIndexing IndexingOf(CollectionConfig config)
    {
        var hnsw = config.HnswFor(config.VectorSpaces.Count > 0 ? config.VectorSpaces[0].Name : string.Empty);
        var spaces = config.VectorSpaces.Select(s => (Hnsw: config.HnswFor(s.Name), Quantization: config.QuantizationFor(s.Name), VectorsOnDisk: config.VectorsOnDiskFor(s.Name)))
            .Select(h => new SpaceGraphSettings(h.Hnsw.M, Math.Max(4, h.Hnsw.EfConstruct), h.Hnsw.OnDisk, h.Hnsw.PayloadM, h.Hnsw.FullScanThresholdKb, h.Quantization, h.VectorsOnDisk))
            .ToArray();
        return new ShardIndexing
        {
            // Qdrant: indexing_threshold is in KB of vectors and 0 disables indexing; so does hnsw m = 0 on every
            // vector without payload_m (no graph: segments are searched exactly, through the payload indexes when a
            // filter has one).
            IndexingThresholdKb = spaces.Length > 0 && spaces.All(s => s.M < 2 && s.PayloadM < 2) ? 0 : (long)config.OptimizerSetting("indexing_threshold", 10_000),
            MaxSegmentSizeKb = Math.Max(1, (long)config.OptimizerSetting("max_segment_size", ShardIndexing.DefaultMaxSegmentSizeKb)),
            DefaultSegmentNumber = (int)Math.Clamp(config.OptimizerSetting("default_segment_number", 0), 0, 1024),
            M = hnsw.M,
            EfConstruct = Math.Max(4, hnsw.EfConstruct),
            MaxIndexingThreads = hnsw.MaxIndexingThreads,
            FullScanThresholdKb = hnsw.FullScanThresholdKb,
            DeletedThreshold = config.OptimizerSetting("deleted_threshold", 0.2),
            VacuumMinVectorNumber = (int)config.OptimizerSetting("vacuum_min_vector_number", 1000),
            PayloadsOnDisk = config.PayloadsOnDisk,
            Spaces = spaces,
        };
    }

    internal string Directory => _directory;

    /// <summary>The shards, for benchmarks that compare the engine with the index it wraps.</summary>
    internal IReadOnlyList<Shard> Shards => ReadShards;

    /// <summary>
    /// The shards reads run over, in id order: every shard on a single node; in cluster mode the ones this node holds
    /// a replica of (or, in a view, the requested ones).
    /// </summary>
    private Shard[] ReadShards => _set.Reading;

    /// <summary>This node's replica of each shard by id (null where it holds none), and the non-null ones in id order.</summary>
    private sealed class ReplicaSet
    {
        public ReplicaSet(Shard?[] byId)
        {
            ById = byId;
            ReadingIds = [.. Enumerable.Range(0, byId.Length).Where(i => byId[i] is not null)];
            Reading = [.. ReadingIds.Select(i => byId[i]!)];
        }

        public Shard?[] ById { get; }

        public Shard[] Reading { get; }

        public int[] ReadingIds { get; }
    }

    /// <summary>Closes every shard; one failing does not stop the others from flushing.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_isView)
            return;
        List<Exception>? errors = null;
        foreach (var writer in _writers)
        {
            if (writer is not null)
                await writer.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var shard in ReadShards)
        {
            try
            {
                await shard.DisposeAsync().ConfigureAwait(false);
            }
#pragma warning disable CA1031 // collected and rethrown below
            catch (Exception ex)
#pragma warning restore CA1031
            {
                (errors ??= []).Add(ex);
            }
        }

        if (errors is not null)
            throw new AggregateException($"closing collection {Name} failed", errors);
    }

    /// <summary>Writes every shard's applied state to disk.</summary>
    public void Flush()
    {
        foreach (var shard in ReadShards)
            shard.Flush();
    }

    private int ShardOf(PointId id) => id.ShardIn(_shardNumber);

    private static QuiverException DimensionError(int expected, int got) =>
        QuiverException.BadInput($"Wrong input: Vector dimension error: expected dim: {expected}, got {got}");

    private static QuiverException MissingVectorName(string name) =>
        QuiverException.BadInput($"Wrong input: Not existing vector name error: {(name.Length == 0 ? "\"\" (the unnamed vector)" : name)}");

    /// <summary>Checks a vector against its space and returns the form to store (normalised for Cosine).</summary>
    private NamedVector Prepare(NamedVector vector, string field)
    {
        if (vector.IsSparse)
        {
            if (Config.FindSparse(vector.Name) is null)
            {
                throw Config.FindSpace(vector.Name) is null
                    ? MissingVectorName(vector.Name)
                    : QuiverException.BadInput($"Wrong input: {field}: {vector.Name} is a dense vector; a sparse vector was given");
            }

            return vector;
        }

        if (Config.FindSparse(vector.Name) is not null)
            throw QuiverException.BadInput($"Wrong input: {field}: {vector.Name} is a sparse vector; give it as {{\"indices\": [...], \"values\": [...]}}");
        if (Config.FindMulti(vector.Name) is { } multiSpace)
            return PrepareMulti(vector, multiSpace, field);
        if (vector.IsMulti)
        {
            throw Config.FindSpace(vector.Name) is null
                ? MissingVectorName(vector.Name)
                : QuiverException.BadInput($"Wrong input: {field}: {(vector.Name.Length == 0 ? "the vector" : vector.Name)} takes one vector; a multivector was given");
        }

        var space = Config.FindSpace(vector.Name) ?? throw MissingVectorName(vector.Name);
        if (vector.Values.Length != space.Dimension)
            throw DimensionError(space.Dimension, vector.Values.Length);
        if (!Quiver.Kernels.VectorMath.AllFinite(vector.Values))
            throw QuiverException.BadInput($"{field}: vector contains NaN or Infinity");
        if (space.Distance != Distance.Cosine && space.Datatype == VectorDatatype.Float32)
            return vector;
        var copy = (float[])vector.Values.Clone();
        if (space.Distance == Distance.Cosine)
            Quiver.Kernels.VectorMath.Normalize(copy);
        RoundToDatatype(copy, space.Datatype, field);
        return vector with { Values = copy };
    }

    /// <summary>
    /// Rounds values to what a compact datatype stores, so every segment (the appendable one stores float32) holds
    /// and returns the same values: the nearest float16, or the integer itself for uint8. A value the datatype cannot
    /// hold is refused rather than clamped.
    /// </summary>
    private static void RoundToDatatype(Span<float> values, VectorDatatype datatype, string field)
    {
        for (var i = 0; i < values.Length; i++)
        {
            var v = values[i];
            switch (datatype)
            {
                case VectorDatatype.Float16:
                    var half = (Half)v;
                    if (Half.IsInfinity(half))
                        throw QuiverException.BadInput($"{field}: component {i} is {v}, outside the float16 range (±65504) of this vector's datatype");
                    values[i] = (float)half;
                    break;
                case VectorDatatype.UInt8:
                    if (v is < 0 or > 255 || v != MathF.Round(v))
                        throw QuiverException.BadInput($"{field}: component {i} is {v}; this vector's datatype uint8 takes integers from 0 to 255");
                    break;
                default:
                    break;
            }
        }
    }
}
