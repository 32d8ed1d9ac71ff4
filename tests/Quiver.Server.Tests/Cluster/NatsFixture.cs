using Quiver.Server.Tests.Infrastructure;

namespace Quiver.Server.Tests.Cluster;

/// <summary>One real nats-server (JetStream on) for a test class, started before its tests and stopped by PID after.</summary>
public sealed class NatsFixture : IAsyncLifetime
{
    private NatsServer? _server;

    public NatsServer Server => _server ?? throw new InvalidOperationException("the fixture has not started");

    public async Task InitializeAsync() => _server = await NatsServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (_server is not null)
            await _server.DisposeAsync();
    }
}
