using System.Net;
using System.Text;

namespace Quiver.Server.Tests.Infrastructure;

/// <summary>Requests carrying a credential, in the <c>api-key</c> header or as a bearer token.</summary>
internal static class KeyedRequests
{
    public static async Task<(HttpStatusCode Status, string Text)> SendAsync(this HttpClient http, string method, string path, string? body, string? key, bool bearer = false)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(path, UriKind.Relative));
        if (body is not null)
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        if (key is not null)
        {
            if (bearer)
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
            else
                request.Headers.Add("api-key", key);
        }

        using var response = await http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
