using System.Net;
using Quiver.Server.Tests.Infrastructure;

namespace Quiver.Server.Tests.Ingest;

/// <summary>The connector API's lifecycle and refusals, on a connector whose NATS server is not there.</summary>
[Collection(ServerCollection.Name)]
public sealed class ConnectorApiTests(ServerFixture fixture)
{
    [Fact]
    public async Task A_connector_is_created_shown_paused_resumed_and_deleted()
    {
        using var rest = new RestClient(fixture.Server.BaseAddress);
        var name = "api_" + Guid.NewGuid().ToString("N")[..8];
        var created = (await rest.PutAsync($"/quiver/connectors/{name}", new
        {
            kind = "nats",
            collection = "nowhere",
            batch = new { max_events = 64 },
            nats = new { url = "nats://127.0.0.1:9", stream = "S", subject = "s.x" },
        })).EnsureOk().Result;
        Assert.Equal("api", created["defined_in"]!.GetValue<string>());
        Assert.Equal(64, created["config"]!["batch"]!["max_events"]!.GetValue<int>());
        Assert.Equal($"quiver-{name}", created["config"]!["nats"]!["durable"]!.GetValue<string>());

        // Unreachable source: the connector says so and keeps retrying.
        var failed = await IngestScenario.WaitForConnectorAsync(rest, name, s => s["state"]!.GetValue<string>() == "failed", TimeSpan.FromSeconds(30));
        Assert.False(string.IsNullOrEmpty(failed["last_error"]?.GetValue<string>()));
        Assert.Contains((await rest.GetAsync("/quiver/connectors")).EnsureOk().Result.AsArray(), c => c!["name"]!.GetValue<string>() == name);

        (await rest.PostAsync($"/quiver/connectors/{name}/pause", new { })).EnsureOk();
        var paused = (await rest.GetAsync($"/quiver/connectors/{name}")).EnsureOk().Result;
        Assert.True(paused["paused"]!.GetValue<bool>());
        (await rest.PostAsync($"/quiver/connectors/{name}/resume", new { })).EnsureOk();
        Assert.False((await rest.GetAsync($"/quiver/connectors/{name}")).EnsureOk().Result["paused"]!.GetValue<bool>());

        Assert.True((await rest.DeleteAsync($"/quiver/connectors/{name}")).EnsureOk().Result.GetValue<bool>());
        Assert.Equal(HttpStatusCode.NotFound, (await rest.GetAsync($"/quiver/connectors/{name}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await rest.DeleteAsync($"/quiver/connectors/{name}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await rest.PostAsync($"/quiver/connectors/{name}/pause", new { })).Status);
    }

    [Theory]
    [InlineData("""{"kind":"nats","collection":"c","nats":{"stream":"S","subject":"x"},"batch":{"size":5}}""", "unknown setting `batch.size`")]
    [InlineData("""{"kind":"nats","collection":"c"}""", "`nats.stream` is required")]
    [InlineData("""[1]""", "Format error in JSON body")]
    public async Task Bad_definitions_are_400_and_create_nothing(string body, string message)
    {
        using var rest = new RestClient(fixture.Server.BaseAddress);
        var name = "bad_" + Guid.NewGuid().ToString("N")[..8];
        var response = await rest.SendAsync(HttpMethod.Put, $"/quiver/connectors/{name}", body);
        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Contains(message, response.Error, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await rest.GetAsync($"/quiver/connectors/{name}")).Status);
    }
}
