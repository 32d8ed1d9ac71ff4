using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Quiver.Server.Tests.Infrastructure;

/// <summary>
/// A real Quiver server child process on a free loopback port, with its own storage folder.
/// Stopped gracefully (SIGTERM) or killed (SIGKILL) by PID.
/// </summary>
public sealed partial class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ServerProcess(Process process, int port, int grpcPort, string storagePath, bool https)
    {
        _process = process;
        Port = port;
        GrpcPort = grpcPort;
        StoragePath = storagePath;
        BaseAddress = new Uri($"{(https ? "https" : "http")}://127.0.0.1:{port}");
    }

    public int Port { get; }

    /// <summary>The gRPC port (a free one unless the arguments set it).</summary>
    public int GrpcPort { get; }

    public string StoragePath { get; }

    public Uri BaseAddress { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Output
    {
        get
        {
            lock (_output)
                return _output.ToString();
        }
    }

    /// <summary>Starts the server and waits until it answers /readyz.</summary>
    public static async Task<ServerProcess> StartAsync(
        string storagePath, IEnumerable<string>? extraArgs = null, TimeSpan? readyTimeout = null, bool https = false,
        System.Security.Cryptography.X509Certificates.X509Certificate2? clientCertificate = null)
    {
        var server = Launch(storagePath, extraArgs, https);
        await server.WaitReadyAsync(readyTimeout ?? TimeSpan.FromSeconds(60), clientCertificate).ConfigureAwait(false);
        return server;
    }

    /// <summary>Starts the server expecting it to stop by itself (e.g. refusing damaged storage).</summary>
    public static async Task<(int ExitCode, string Output)> RunUntilExitAsync(string storagePath, TimeSpan timeout)
    {
        await using var server = Launch(storagePath, null, https: false);
        using var cts = new CancellationTokenSource(timeout);
        await server._process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        // Let the asynchronous output readers drain.
        server._process.WaitForExit();
        return (server._process.ExitCode, server.Output);
    }

    private static ServerProcess Launch(string storagePath, IEnumerable<string>? extraArgs, bool https)
    {
        var port = FreePort();
        var dll = Path.Combine(AppContext.BaseDirectory, "quiver.dll");
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        foreach (var a in new[] { dll, "serve", "--host", "127.0.0.1", "--http-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--storage-path", storagePath })
            psi.ArgumentList.Add(a);
        // Never the default 6334: servers run side by side in the tests.
        var grpcPort = 0;
        if (extraArgs?.Contains("--grpc-port") != true)
        {
            // Each probe releases its port before the server binds it, so two probes can return the same port.
            do
            {
                grpcPort = FreePort();
            }
            while (grpcPort == port);
            psi.ArgumentList.Add("--grpc-port");
            psi.ArgumentList.Add(grpcPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        foreach (var a in extraArgs ?? [])
            psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_gcServer"] = "0";
        var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start quiver");
        var server = new ServerProcess(process, port, grpcPort, storagePath, https);
        process.OutputDataReceived += (_, e) => server.Append(e.Data);
        process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    public async Task WaitReadyAsync(TimeSpan timeout, System.Security.Cryptography.X509Certificates.X509Certificate2? clientCertificate = null)
    {
        // Readiness only: over TLS the tests check the certificate themselves.
#pragma warning disable CA5400 // The readiness probe needs no revocation check.
        using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator };
#pragma warning restore CA5400
        if (clientCertificate is not null)
            handler.ClientCertificates.Add(clientCertificate);
        using var http = new HttpClient(handler) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"quiver exited with {_process.ExitCode} before it was ready:\n{Output}");
            try
            {
                using var response = await http.GetAsync(new Uri("/readyz", UriKind.Relative)).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.OK)
                    return;
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(25).ConfigureAwait(false);
        }

        throw new TimeoutException($"quiver was not ready within {timeout}:\n{Output}");
    }

    /// <summary>SIGTERM, then waits for a clean exit. Returns the exit code.</summary>
    public async Task<int> StopAsync(TimeSpan? timeout = null)
    {
        if (!_process.HasExited)
        {
            _ = Kill(_process.Id, 15);
            using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
            await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }

        return _process.ExitCode;
    }

    /// <summary>SIGKILL: the process gets no chance to flush anything.</summary>
    public async Task KillAsync()
    {
        if (_process.HasExited)
            return;
        _ = Kill(_process.Id, 9);
        await _process.WaitForExitAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            try
            {
                await StopAsync(TimeSpan.FromSeconds(20)).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                await KillAsync().ConfigureAwait(false);
            }
        }

        _process.Dispose();
    }

    /// <summary>SIGTERM, and SIGKILL if the process has not exited within <paramref name="grace"/>.</summary>
    public static async Task TerminateAsync(Process process, TimeSpan grace)
    {
        if (process.HasExited)
            return;
        _ = Kill(process.Id, 15);
        using var cts = new CancellationTokenSource(grace);
        try
        {
            await process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            _ = Kill(process.Id, 9);
            await process.WaitForExitAsync().ConfigureAwait(false);
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void Append(string? line)
    {
        if (line is null)
            return;
        lock (_output)
            _output.AppendLine(line);
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    internal static partial int Kill(int pid, int signal);
}
