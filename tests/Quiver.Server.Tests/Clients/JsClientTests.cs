using Quiver.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Quiver.Server.Tests.Clients;

/// <summary>Runs tests/js-client (the official @qdrant/js-client-rest) against the shared server.</summary>
[Collection(ServerCollection.Name)]
public sealed class JsClientTests(ServerFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public Task Official_js_client_scenario_passes() => JsClientScenario.RunAsync(fixture.Server, output);
}
