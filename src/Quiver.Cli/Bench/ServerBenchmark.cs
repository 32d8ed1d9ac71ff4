using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Quiver.Cli.Bench;

/// <summary>
/// <c>quiver bench server</c>: concurrent REST clients send nearest-neighbour queries from a dataset to a running
/// server for a fixed time and report throughput and latency percentiles. Loopback addresses only: this is a load
/// generator, bounded in time, and never aimed at other hosts.
/// </summary>
internal static class ServerBenchmark
{
    public const string Usage = """
        Usage: quiver bench server --url http://127.0.0.1:6333 --data DIR --collection NAME [options]
          --concurrency C    concurrent clients (default 8)
          --duration S       seconds to run (default 30, at most 600)
          --limit K          neighbours per query (default 10)
          --ef N             params.hnsw_ef (default: the collection's)
          --upload           create NAME and upload the dataset's base vectors first (indexing on)
        """;

    private static readonly HashSet<string> Options = ["--url", "--data", "--collection", "--concurrency", "--duration", "--limit", "--ef"];
    private static readonly HashSet<string> Flags = ["--upload"];

    public static async Task<int> RunAsync(IReadOnlyList<string> argv)
    {
        var args = new BenchArgs(argv, Options, Flags);
        var url = new Uri(args.String("--url") ?? "http://127.0.0.1:6333");
        if (!IsLoopback(url))
            throw new ArgumentException($"--url {url}: bench server only targets loopback addresses (127.0.0.0/8, ::1, localhost)");
        var collection = args.Required("--collection");
        var concurrency = args.Int("--concurrency", 8);
        var duration = Math.Min(600, args.Int("--duration", 30));
        var limit = args.Int("--limit", 10);
        int? ef = args.Has("--ef") ? args.Int("--ef", 0) : null;
        var data = Dataset.Load(args.Required("--data"), null, 1000);

        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency * 2 }) { BaseAddress = url, Timeout = TimeSpan.FromSeconds(30) };
        if (args.Has("--upload"))
            await UploadAsync(http, collection, data).ConfigureAwait(false);

        var bodies = data.Queries.Select(q => Encoding.UTF8.GetBytes(new JsonObject
        {
            ["query"] = new JsonArray([.. q.Select(x => (JsonNode)x)]),
            ["limit"] = limit,
            ["params"] = ef is { } e ? new JsonObject { ["hnsw_ef"] = e } : null,
        }.ToJsonString())).ToArray();

        var path = new Uri($"/collections/{collection}/points/query", UriKind.Relative);
        var latencies = new List<double>[concurrency];
        var errors = 0L;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(duration));
        var clock = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, concurrency).Select(w => Task.Run(async () =>
        {
            var mine = latencies[w] = [];
            var i = w;
            while (!stop.IsCancellationRequested)
            {
                using var content = new ByteArrayContent(bodies[i++ % bodies.Length]);
                content.Headers.ContentType = new("application/json");
                var started = Stopwatch.GetTimestamp();
                try
                {
                    using var response = await http.PostAsync(path, content, CancellationToken.None).ConfigureAwait(false);
                    await response.Content.ReadAsByteArrayAsync(CancellationToken.None).ConfigureAwait(false);
                    if (response.StatusCode != HttpStatusCode.OK)
                        Interlocked.Increment(ref errors);
                }
                catch (HttpRequestException)
                {
                    Interlocked.Increment(ref errors);
                }

                mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        })).ToArray();
        await Task.WhenAll(workers).ConfigureAwait(false);
        var seconds = clock.Elapsed.TotalSeconds;

        var all = latencies.SelectMany(l => l).Order().ToArray();
        double P(double q) => all.Length == 0 ? 0 : all[Math.Min(all.Length - 1, (int)Math.Ceiling(all.Length * q) - 1)];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{all.Length:N0} queries in {seconds:F1} s with {concurrency} clients: {all.Length / seconds:F0} QPS, p50 {P(0.50):F2} ms, p95 {P(0.95):F2} ms, p99 {P(0.99):F2} ms, errors {errors}"));
        return errors == 0 ? 0 : 1;
    }

    private static async Task UploadAsync(HttpClient http, string collection, Dataset data)
    {
        var create = new JsonObject { ["vectors"] = new JsonObject { ["size"] = data.Dim, ["distance"] = data.Metric == "angular" ? "Cosine" : "Euclid" } };
        await SendAsync(http, HttpMethod.Put, $"/collections/{collection}", create).ConfigureAwait(false);
        for (var start = 0; start < data.Base.Length; start += 500)
        {
            var ids = Enumerable.Range(start, Math.Min(500, data.Base.Length - start)).ToArray();
            var batch = new JsonObject
            {
                ["batch"] = new JsonObject
                {
                    ["ids"] = new JsonArray([.. ids.Select(i => (JsonNode)i)]),
                    ["vectors"] = new JsonArray([.. ids.Select(i => (JsonNode)new JsonArray([.. data.Base[i].Select(x => (JsonNode)x)]))]),
                },
            };
            await SendAsync(http, HttpMethod.Put, $"/collections/{collection}/points?wait=true", batch).ConfigureAwait(false);
        }

        Console.Error.WriteLine($"bench server: uploaded {data.Base.Length:N0} points; waiting for the collection to turn green");
        for (var i = 0; i < 3600; i++)
        {
            using var info = await http.GetAsync(new Uri($"/collections/{collection}", UriKind.Relative)).ConfigureAwait(false);
            var json = JsonNode.Parse(await info.Content.ReadAsStringAsync().ConfigureAwait(false));
            if (json?["result"]?["status"]?.GetValue<string>() == "green")
                return;
            await Task.Delay(500).ConfigureAwait(false);
        }
    }

    private static async Task SendAsync(HttpClient http, HttpMethod method, string path, JsonNode body)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative)) { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
        using var response = await http.SendAsync(request).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"{method} {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync().ConfigureAwait(false)}");
    }

    private static bool IsLoopback(Uri url) =>
        url.IsLoopback || (IPAddress.TryParse(url.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
}
