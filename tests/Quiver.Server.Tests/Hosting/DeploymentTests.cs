using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Quiver.Server.Hosting;
using Quiver.Server.Tests.Infrastructure;

namespace Quiver.Server.Tests.Hosting;

/// <summary>
/// deploy/docker and deploy/helm/quiver against what the server really serves and reads: ports, probe and metrics
/// paths (requested from a running server), the storage path, config keys (bound by the server's own binder and
/// documented in docs/operations.md), and the image's health check command (run against the server).
/// </summary>
[Collection(ServerCollection.Name)]
public sealed partial class DeploymentTests(ServerFixture fixture)
{
    private static readonly string Chart = Path.Combine(RepoPaths.Root, "deploy", "helm", "quiver");
    private static readonly string Dockerfile = Path.Combine(RepoPaths.Root, "deploy", "docker", "Dockerfile");

    [Fact]
    public async Task The_chart_probes_ports_paths_and_config_match_the_server()
    {
        var values = new ConfigurationBuilder().AddYamlFile(Path.Combine(Chart, "values.yaml")).Build();
        var statefulSet = await File.ReadAllTextAsync(Path.Combine(Chart, "templates", "statefulset.yaml"));
        var monitor = await File.ReadAllTextAsync(Path.Combine(Chart, "templates", "servicemonitor.yaml"));

        // The rendered config is bound by the server's own binder, and every key is a documented one.
        var config = values.GetSection("config");
        var options = QuiverOptions.Bind(config);
        var readme = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "docs", "operations.md"));
        foreach (var leaf in config.AsEnumerable(makePathsRelative: true).Where(kv => kv.Value is not null))
        {
            var key = leaf.Key.Replace(':', '.');
            Assert.True(readme.Contains($"`{key}`", StringComparison.Ordinal), $"values.yaml config key {key} is not a documented setting");
        }

        Assert.Equal(int.Parse(values["service:httpPort"]!, System.Globalization.CultureInfo.InvariantCulture), options.Service.HttpPort);
        Assert.Contains("containerPort: {{ .Values.service.httpPort }}", statefulSet, StringComparison.Ordinal);
        Assert.Equal(int.Parse(values["service:grpcPort"]!, System.Globalization.CultureInfo.InvariantCulture), options.Service.GrpcPort);
        Assert.Contains("containerPort: {{ .Values.service.grpcPort }}", statefulSet, StringComparison.Ordinal);
        Assert.Contains($"mountPath: {options.Storage.StoragePath}", statefulSet, StringComparison.Ordinal);
        Assert.Contains("args: [\"--config\", \"/quiver/config/config.yaml\"]", statefulSet, StringComparison.Ordinal);
        Assert.Contains("mountPath: /quiver/config", statefulSet, StringComparison.Ordinal);
        Assert.Contains("QUIVER__SERVICE__API_KEY", statefulSet, StringComparison.Ordinal);

        // Every probe and the metrics path are served, without a key (probes) as a kubelet calls them.
        var paths = ProbePath().Matches(statefulSet).Select(m => m.Groups[1].Value).Concat(ProbePath().Matches(monitor).Select(m => m.Groups[1].Value)).ToList();
        Assert.Contains("/livez", paths);
        Assert.Contains("/readyz", paths);
        Assert.Contains("/metrics", paths);
        foreach (var path in paths.Distinct())
            Assert.Equal(HttpStatusCode.OK, (await fixture.Client.GetAsync(path)).Status);
    }

    [Fact]
    public async Task The_image_runs_as_non_root_on_the_documented_port_and_storage_and_its_health_check_works()
    {
        var dockerfile = await File.ReadAllTextAsync(Dockerfile);
        Assert.Matches(@"(?m)^FROM .+ AS build$", dockerfile);
        Assert.Matches(@"(?m)^USER (?!0\b|root\b)\S+$", dockerfile);
        Assert.Matches(@"(?m)^EXPOSE 6333 6334$", dockerfile);
        var storage = Regex.Match(dockerfile, @"QUIVER__STORAGE__STORAGE_PATH=(\S+)").Groups[1].Value;
        Assert.Matches($"(?m)^VOLUME {Regex.Escape(storage)}$", dockerfile);
        Assert.Contains("\"healthcheck\", \"--url\", \"http://127.0.0.1:6333/readyz\"", dockerfile, StringComparison.Ordinal);
        foreach (Match env in Regex.Matches(dockerfile, @"QUIVER__([A-Z_]+)__([A-Z_]+)="))
        {
            var key = $"{env.Groups[1].Value.ToLowerInvariant()}.{env.Groups[2].Value.ToLowerInvariant()}";
            Assert.Contains($"`{key}`", await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "docs", "operations.md")), StringComparison.Ordinal);
        }

        // The health check command itself, against a live server and a closed port.
        Assert.Equal(0, await HealthCheckAsync(new Uri(fixture.Server.BaseAddress, "/readyz").ToString()));
        Assert.Equal(1, await HealthCheckAsync($"http://127.0.0.1:{ServerProcessPorts.Closed()}/readyz"));
        Assert.Equal(2, await HealthCheckAsync("ftp://127.0.0.1/readyz"));
    }

    private static async Task<int> HealthCheckAsync(string url)
    {
        var psi = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "quiver.dll"), "healthcheck", "--url", url])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(psi)!;
        _ = await process.StandardOutput.ReadToEndAsync();
        _ = await process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(cts.Token);
        return process.ExitCode;
    }

    [GeneratedRegex(@"path: (/[a-z]+)")]
    private static partial Regex ProbePath();
}

/// <summary>A loopback port with nothing listening (bound, read, released).</summary>
internal static class ServerProcessPorts
{
    public static int Closed()
    {
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
