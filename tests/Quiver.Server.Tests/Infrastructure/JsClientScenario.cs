using System.Diagnostics;
using Xunit.Abstractions;

namespace Quiver.Server.Tests.Infrastructure;

/// <summary>Runs tests/js-client (the official @qdrant/js-client-rest scenario) against a server and checks it passed.</summary>
internal static class JsClientScenario
{
    public static async Task RunAsync(ServerProcess server, ITestOutputHelper output, string? apiKey = null, string? extraCaCertificates = null)
    {
        var dir = Path.Combine(RepoPaths.Root, "tests", "js-client");
        Assert.True(Directory.Exists(Path.Combine(dir, "node_modules", "@qdrant", "js-client-rest")),
            "tests/js-client/node_modules is missing: run scripts/setup.sh");
        var psi = new ProcessStartInfo("node", ["--test", "--test-reporter=tap", "client.test.mjs"])
        {
            WorkingDirectory = dir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        psi.Environment["QUIVER_URL"] = server.BaseAddress.ToString().TrimEnd('/');
        // Snapshots are recovered from file:// locations, which must be inside the server's snapshots folder.
        psi.Environment["QUIVER_SNAPSHOTS_PATH"] = Path.Combine(Path.GetFullPath(server.StoragePath), "snapshots");
        if (apiKey is not null)
            psi.Environment["QUIVER_API_KEY"] = apiKey;
        if (extraCaCertificates is not null)
            psi.Environment["NODE_EXTRA_CA_CERTS"] = extraCaCertificates;
        using var node = Process.Start(psi)!;
        var stdout = node.StandardOutput.ReadToEndAsync();
        var stderr = node.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await node.WaitForExitAsync(cts.Token);
        output.WriteLine(await stdout);
        output.WriteLine(await stderr);
        Assert.True(node.ExitCode == 0, $"node --test failed ({node.ExitCode}):\n{await stdout}\n{await stderr}");
        Assert.Contains("# fail 0", await stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("incompatible", await stderr, StringComparison.Ordinal);
    }
}
