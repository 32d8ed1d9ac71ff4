using System.Diagnostics;
using System.Globalization;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Quiver.Server.Tests.Infrastructure;

/// <summary>
/// A real three-server NATS cluster with JetStream on loopback (free client and route ports, a store folder per
/// server), as shared/notes/nats.md describes; each server started and stopped (or killed) by PID.
/// </summary>
public sealed class NatsCluster : IAsyncDisposable
{
    private readonly string _root;
    private readonly Node[] _nodes;

    private NatsCluster(string root, Node[] nodes)
    {
        _root = root;
        _nodes = nodes;
    }

    /// <summary>Every server's client URL, comma-separated (what <c>--cluster</c> takes).</summary>
    public string Urls => string.Join(',', _nodes.Select(n => n.Url));

    public IReadOnlyList<string> ServerNames => [.. _nodes.Select(n => n.Name)];

    public static async Task<NatsCluster> StartAsync(int servers = 3)
    {
        var root = Path.Combine(Path.GetTempPath(), $"quiver-natsc-{Guid.NewGuid():N}");
        Directory.CreateDirectory(root);
        // Each probe releases its port before the server binds it, so two probes can return the same one: take distinct ones.
        var ports = new HashSet<int>();
        while (ports.Count < servers * 2)
            ports.Add(ServerProcess.FreePort());
        var free = ports.ToArray();
        var nodes = Enumerable.Range(0, servers).Select(i => new Node($"n{i + 1}", free[2 * i], free[(2 * i) + 1], Path.Combine(root, $"n{i + 1}"))).ToArray();
        var cluster = new NatsCluster(root, nodes);
        try
        {
            foreach (var node in nodes)
                cluster.Launch(node);
            await cluster.WaitReadyAsync(TimeSpan.FromSeconds(30));
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private void Launch(Node node)
    {
        Directory.CreateDirectory(node.StoreDir);
        var routes = string.Join(", ", _nodes.Select(n => $"nats-route://127.0.0.1:{n.RoutePort.ToString(CultureInfo.InvariantCulture)}"));
        var config = Path.Combine(_root, $"{node.Name}.conf");
        File.WriteAllText(config, $$"""
            server_name: {{node.Name}}
            listen: 127.0.0.1:{{node.Port}}
            jetstream { store_dir: "{{node.StoreDir}}", max_memory_store: 256MB, max_file_store: 4GB }
            cluster {
              name: quiver-test
              listen: 127.0.0.1:{{node.RoutePort}}
              routes: [ {{routes}} ]
            }
            """);
        var psi = new ProcessStartInfo(NatsServer.Binary())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(config);
        var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start nats-server");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        node.Process = process;
    }

    /// <summary>Ready when an R3 stream can be created and written through every server (a meta leader exists and routes are up).</summary>
    private async Task WaitReadyAsync(TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await using var connection = new NatsConnection(new NatsOpts { Url = Urls, ConnectTimeout = TimeSpan.FromSeconds(2) });
                await connection.ConnectAsync();
                var js = new NatsJSContext(connection);
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await js.CreateOrUpdateStreamAsync(new StreamConfig("READY_PROBE", ["ready.probe"]) { NumReplicas = _nodes.Length, Storage = StreamConfigStorage.Memory }, cts.Token);
                await js.PublishAsync("ready.probe", new byte[] { 1 }, cancellationToken: cts.Token);
                await js.DeleteStreamAsync("READY_PROBE", cts.Token);
                return;
            }
            catch (Exception) when (deadline.Elapsed < timeout)
            {
                await Task.Delay(200);
            }
        }
    }

    /// <summary>SIGKILLs one server (its store survives for a restart).</summary>
    public async Task KillAsync(string name)
    {
        var node = _nodes.Single(n => n.Name == name);
        if (node.Process is { HasExited: false } process)
        {
            _ = ServerProcess.Kill(process.Id, 9);
            await process.WaitForExitAsync();
        }
    }

    /// <summary>Starts a stopped server again on its ports and store.</summary>
    public void Restart(string name)
    {
        var node = _nodes.Single(n => n.Name == name);
        node.Process?.Dispose();
        Launch(node);
    }

    /// <summary>The server leading a stream's Raft group (null while it has none).</summary>
    public async Task<string?> StreamLeaderAsync(string stream)
    {
        await using var connection = new NatsConnection(new NatsOpts { Url = Urls, ConnectTimeout = TimeSpan.FromSeconds(2) });
        await connection.ConnectAsync();
        var info = await new NatsJSContext(connection).GetStreamAsync(stream);
        return info.Info.Cluster?.Leader;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            if (node.Process is not { } process)
                continue;
            await ServerProcess.TerminateAsync(process, TimeSpan.FromSeconds(10));
            process.Dispose();
        }

        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private sealed class Node(string name, int port, int routePort, string storeDir)
    {
        public string Name { get; } = name;

        public int Port { get; } = port;

        public int RoutePort { get; } = routePort;

        public string StoreDir { get; } = storeDir;

        public string Url => $"nats://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}";

        public Process? Process { get; set; }
    }
}
