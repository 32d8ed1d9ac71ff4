using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Quiver.Server.Tests.Infrastructure;

/// <summary>A response: status code and parsed JSON body (or raw text when it is not JSON).</summary>
public sealed record RestResponse(HttpStatusCode Status, JsonNode? Json, string Text)
{
    public JsonNode Result => Json?["result"] ?? throw new InvalidOperationException($"no result in {Status}: {Text}");

    public string? Error => Json?["status"]?["error"]?.GetValue<string>();

    public RestResponse EnsureOk()
    {
        if (Status != HttpStatusCode.OK)
            throw new InvalidOperationException($"expected 200, got {(int)Status}: {Text}");
        return this;
    }
}

/// <summary>Plain HTTP against the server: what any REST client sends.</summary>
public sealed class RestClient(Uri baseAddress) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };

    public Task<RestResponse> GetAsync(string path) => SendAsync(HttpMethod.Get, path, (string?)null);

    public Task<RestResponse> DeleteAsync(string path) => SendAsync(HttpMethod.Delete, path, (string?)null);

    public Task<RestResponse> PutAsync(string path, object body) => SendAsync(HttpMethod.Put, path, Serialize(body));

    public Task<RestResponse> PostAsync(string path, object body) => SendAsync(HttpMethod.Post, path, Serialize(body));

    public Task<RestResponse> PatchAsync(string path, object body) => SendAsync(HttpMethod.Patch, path, Serialize(body));

    public async Task<RestResponse> SendAsync(HttpMethod method, string path, string? body)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (body is not null)
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        JsonNode? json = null;
        try
        {
            json = text.Length > 0 ? JsonNode.Parse(text) : null;
        }
        catch (JsonException)
        {
        }

        return new RestResponse(response.StatusCode, json, text);
    }

    /// <summary>Bodies are given as JSON text or as objects (anonymous types, JsonNode) serialised as they are.</summary>
    private static string Serialize(object body) => body switch
    {
        string s => s,
        JsonNode n => n.ToJsonString(),
        _ => JsonSerializer.Serialize(body, SerializerOptions),
    };

    private static readonly JsonSerializerOptions SerializerOptions = new() { PropertyNamingPolicy = null };

    public void Dispose() => _http.Dispose();
}
