namespace Quiver.Server.Tests.Infrastructure;

/// <summary>A server process of its own, started with a YAML config file (settings that have no flag).</summary>
public abstract class ConfiguredServerFixture(string yaml, bool https = false) : IAsyncLifetime
{
    private ServerProcess? _server;

    public string Folder { get; } = Path.Combine(Path.GetTempPath(), "quiver-configured-" + Guid.NewGuid().ToString("N"));

    public ServerProcess Server => _server ?? throw new InvalidOperationException("server not started");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Folder);
        await PrepareAsync();
        var config = Path.Combine(Folder, "config.yaml");
        await File.WriteAllTextAsync(config, yaml.Replace("{folder}", Folder, StringComparison.Ordinal));
        _server = await ServerProcess.StartAsync(Path.Combine(Folder, "data"), ["--config", config], https: https, clientCertificate: ReadinessCertificate);
    }

    /// <summary>The client certificate the readiness probe presents (when the server requires one).</summary>
    protected virtual System.Security.Cryptography.X509Certificates.X509Certificate2? ReadinessCertificate => null;

    /// <summary>Writes what the config refers to (files under <see cref="Folder"/>, named in it as <c>{folder}</c>).</summary>
    protected virtual Task PrepareAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_server is not null)
            await _server.DisposeAsync();
        if (Directory.Exists(Folder))
            Directory.Delete(Folder, recursive: true);
    }
}
