namespace Quiver.Server.Tests.Infrastructure;

/// <summary>One server process shared by the integration tests; each test uses its own collection.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    private ServerProcess? _server;

    public string StoragePath { get; } = Path.Combine(Path.GetTempPath(), "quiver-it-" + Guid.NewGuid().ToString("N"));

    public ServerProcess Server => _server ?? throw new InvalidOperationException("server not started");

    public RestClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        // A small body limit so the oversized-body test needs only a few megabytes.
        _server = await ServerProcess.StartAsync(StoragePath, ["--max-request-size-mb", "4"]);
        Client = new RestClient(_server.BaseAddress);
    }

    public async Task DisposeAsync()
    {
        Client?.Dispose();
        if (_server is not null)
            await _server.DisposeAsync();
        if (Directory.Exists(StoragePath))
            Directory.Delete(StoragePath, recursive: true);
    }

    public static string UniqueName(string prefix) => $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 60)];
}

[CollectionDefinition(Name)]
public sealed class ServerCollection : ICollectionFixture<ServerFixture>
{
    public const string Name = "server";
}
