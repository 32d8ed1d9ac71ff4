using System.Diagnostics;
using Quiver.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Quiver.Server.Tests.Clients;

/// <summary>Runs tests/js-client (the official @qdrant/js-client-rest) against the shared server.</summary>
[Collection(ServerCollection.Name)]
public sealed class JsClientTests(ServerFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task Official_js_client_scenario_passes()
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
        psi.Environment["QUIVER_URL"] = fixture.Server.BaseAddress.ToString().TrimEnd('/');
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
