using System.Net;
using System.Text.Json;
using Quiver.Server.Tests.Infrastructure;

namespace Quiver.Server.Tests.Rest;

[Collection(ServerCollection.Name)]
public sealed class ServiceTests(ServerFixture fixture)
{
    private readonly RestClient _client = fixture.Client;

    [Fact]
    public async Task Root_returns_bare_version_info_without_envelope()
    {
        var response = await _client.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.NotNull(response.Json);
        Assert.Equal("1.19.0", response.Json["version"]?.GetValue<string>());
        Assert.Equal(JsonValueKind.String, response.Json["title"]?.GetValueKind());
        Assert.False(string.IsNullOrWhiteSpace(response.Json["title"]!.GetValue<string>()));
        Assert.Equal(JsonValueKind.String, response.Json["quiver_version"]?.GetValueKind());
        Assert.False(string.IsNullOrWhiteSpace(response.Json["quiver_version"]!.GetValue<string>()));
        Assert.Null(response.Json["result"]);
        Assert.Null(response.Json["status"]);
    }

    [Theory]
    [InlineData("/healthz")]
    [InlineData("/livez")]
    [InlineData("/readyz")]
    public async Task Health_probes_answer_200_with_text(string path)
    {
        var response = await _client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.False(string.IsNullOrWhiteSpace(response.Text));
    }
}
