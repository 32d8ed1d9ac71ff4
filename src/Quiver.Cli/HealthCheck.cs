namespace Quiver.Cli;

/// <summary>
/// <c>quiver healthcheck [--url URL]</c>: exit 0 when the URL (default the local <c>/readyz</c>) answers 200, 1
/// otherwise. Container images have no curl; their HEALTHCHECK runs this.
/// </summary>
internal static class HealthCheck
{
    public const string DefaultUrl = "http://127.0.0.1:6333/readyz";

    public static async Task<int> RunAsync(string[] args)
    {
        var url = DefaultUrl;
        var insecure = false;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--url" when i + 1 < args.Length:
                    url = args[++i];
                    break;
                case "--insecure":
                    insecure = true;
                    break;
                default:
                    await Console.Error.WriteLineAsync($"quiver healthcheck: unknown option {args[i]}; usage: quiver healthcheck [--url {DefaultUrl}] [--insecure]").ConfigureAwait(false);
                    return 2;
            }
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var target) || target.Scheme is not ("http" or "https"))
        {
            await Console.Error.WriteLineAsync($"quiver healthcheck: --url must be an http(s) URL, got '{url}'").ConfigureAwait(false);
            return 2;
        }

        // --insecure: the probe runs beside the server, which may serve a certificate for its public name only.
#pragma warning disable CA5400 // A local liveness probe needs no revocation check.
        using var handler = new HttpClientHandler();
        if (insecure)
            handler.ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator;
#pragma warning restore CA5400
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            using var response = await http.GetAsync(target).ConfigureAwait(false);
            Console.WriteLine($"{(int)response.StatusCode} {url}");
            return response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            Console.WriteLine($"unreachable {url}: {ex.Message}");
            return 1;
        }
    }
}
