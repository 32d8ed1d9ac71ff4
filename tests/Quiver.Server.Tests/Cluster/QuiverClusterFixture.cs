using System.Globalization;
using Quiver.Server.Tests.Infrastructure;

namespace Quiver.Server.Tests.Cluster;

/// <summary>
/// A real three-server NATS cluster and three Quiver server processes in cluster mode on it (shard logs R3), plus
/// one single-node Quiver server to compare answers with; all on loopback, started and stopped by PID.
/// </summary>
public class QuiverClusterFixture : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"quiver-cluster-{Guid.NewGuid():N}");
    private readonly ServerProcess?[] _nodes = new ServerProcess?[3];

    public NatsCluster Nats { get; private set; } = null!;

    public ServerProcess Single { get; private set; } = null!;

    public IReadOnlyList<ServerProcess> Nodes => [.. _nodes.Select(n => n ?? throw new InvalidOperationException("node not running"))];

    /// <summary>Membership heartbeat of the test cluster: short, so a killed node is noticed within about a second.</summary>
    public const int HeartbeatMs = 300;

    /// <summary>Seconds between shard snapshots (and log compactions); 0: never.</summary>
    protected virtual int SnapshotIntervalSec => 0;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_root);
        Nats = await NatsCluster.StartAsync();
        Single = await ServerProcess.StartAsync(Path.Combine(_root, "single"), ["--grpc-port", "0", "--fsync", "false"]);
        // One at a time: each joins the membership before the next, as in a rolling start.
        for (var i = 0; i < _nodes.Length; i++)
            _nodes[i] = await StartNodeAsync(i);
    }

    /// <summary>What node <paramref name="index"/> has printed so far; null when it is not running.</summary>
    public string? NodeOutput(int index) => _nodes[index]?.Output;

    public string NodeId(int index) => $"node-{(index + 1).ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Starts node <paramref name="index"/> (again, after a kill: same id and storage, a new port).</summary>
    public async Task<ServerProcess> StartNodeAsync(int index)
    {
        var config = Path.Combine(_root, $"{NodeId(index)}.yaml");
        await File.WriteAllTextAsync(config, $"""
            cluster:
              enabled: true
              nats_url: "{Nats.Urls}"
              node_id: {NodeId(index)}
              log_replicas: 3
              heartbeat_ms: {HeartbeatMs}
              peer_timeout_ms: 2000
              snapshot_interval_sec: {SnapshotIntervalSec}
            """);
        var node = await ServerProcess.StartAsync(Path.Combine(_root, NodeId(index)), ["--config", config, "--grpc-port", "0", "--fsync", "false"]);
        _nodes[index] = node;
        return node;
    }

    /// <summary>SIGKILL of a Quiver node: no leave, its membership lapses after three beats.</summary>
    public async Task KillNodeAsync(int index)
    {
        if (_nodes[index] is { } node)
        {
            await node.KillAsync();
            await node.DisposeAsync();
            _nodes[index] = null;
        }
    }

    public virtual async Task DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            if (node is not null)
                await node.DisposeAsync();
        }

        if (Single is not null)
            await Single.DisposeAsync();
        if (Nats is not null)
            await Nats.DisposeAsync();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>The same cluster with a shard snapshot (and log compaction) every second.</summary>
public sealed class SnapshottingClusterFixture : QuiverClusterFixture
{
    protected override int SnapshotIntervalSec => 1;
}

/// <summary>
/// The cluster tests run one class at a time and beside nothing else: each starts three NATS servers and four Quiver
/// processes, which would starve the timing-sensitive tests of other classes on two cores.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ClusterTestsCollection
{
    public const string Name = "cluster";
}
