using System.Diagnostics;
using System.Globalization;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace Quiver.Server.Tests.Infrastructure;

/// <summary>
/// A real nats-server with JetStream, on a free loopback port with its own store folder; started and stopped by
/// PID. scripts/setup.sh installs nats-server.
/// </summary>
public sealed class NatsServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _storeDir;

    private NatsServer(Process process, int port, string storeDir)
    {
        _process = process;
        _storeDir = storeDir;
        Url = $"nats://127.0.0.1:{port}";
    }

    public string Url { get; }

    public static async Task<NatsServer> StartAsync()
    {
        var binary = Binary();
        var port = ServerProcess.FreePort();
        var store = Path.Combine(Path.GetTempPath(), $"quiver-nats-{Guid.NewGuid():N}");
        Directory.CreateDirectory(store);
        var psi = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "-a", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-js", "-sd", store })
            psi.ArgumentList.Add(a);
        var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start nats-server");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new NatsServer(process, port, store);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                await using var connection = await server.ConnectAsync();
                await new NatsJSContext(connection).GetAccountInfoAsync();
                return server;
            }
            catch (Exception) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                await Task.Delay(100);
            }
        }
    }

    /// <summary>The nats-server executable scripts/setup.sh installed.</summary>
    public static string Binary() =>
        new[] { "/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server" }.FirstOrDefault(File.Exists)
        ?? (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':').Select(d => Path.Combine(d, "nats-server")).FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("nats-server is not installed: run scripts/setup.sh");

    public async Task<NatsConnection> ConnectAsync()
    {
        var connection = new NatsConnection(new NatsOpts { Url = Url, ConnectTimeout = TimeSpan.FromSeconds(2) });
        await connection.ConnectAsync();
        return connection;
    }

    public async ValueTask DisposeAsync()
    {
        await ServerProcess.TerminateAsync(_process, TimeSpan.FromSeconds(10));
        _process.Dispose();
        try
        {
            Directory.Delete(_storeDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
