using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Quiver.Cli.Bench;

/// <summary>
/// <c>quiver bench server</c>: concurrent clients send nearest-neighbour queries from a dataset to a running server,
/// over REST or gRPC (the official .NET client's generated gRPC client), for a fixed time and report throughput and
/// latency percentiles. Both send requests built once and decode every answer;
/// <c>--protocol both</c> runs one after the other and prints their ratio. Loopback addresses only: this is a load
/// generator, bounded in time, and never aimed at other hosts.
/// </summary>
internal static class ServerBenchmark
{
    public const string Usage = """
        Usage: quiver bench server --url http://127.0.0.1:6333[,URL...] --data DIR --collection NAME [options]
          --url URLS         one server, or the nodes of a cluster (comma-separated): queries and upload batches
                             are spread over them, and server CPU is summed over them
          --concurrency C    concurrent clients (default 8)
          --duration S       seconds to run (default 30, at most 600)
          --limit K          neighbours per query (default 10)
          --ef N             params.hnsw_ef (default: the collection's)
          --upload           create NAME and upload the dataset's base vectors first (indexing on), 4 batches of
                             500 in flight with wait=true; prints the write throughput
          --points N         upload only the first N base vectors (default: all)
          --shards N         shard_number of the collection --upload creates (default 1)
          --replication R    replication_factor of the collection --upload creates (default 1)
          --protocol P       rest, grpc, or both (one after the other, with their ratio) (default rest)
          --warmup S         unmeasured seconds before each protocol's run (default 5)
          --grpc-url URL     the gRPC address (default: --url's host on port 6334)
          --grpc-channels N  gRPC channels the clients share (default 1: one per application, as Qdrant.Client holds it)
        """;

    private static readonly HashSet<string> Options = ["--url", "--data", "--collection", "--concurrency", "--duration", "--limit", "--ef", "--protocol", "--grpc-url", "--warmup", "--grpc-channels", "--shards", "--replication", "--points"];
    private static readonly HashSet<string> Flags = ["--upload"];

    public static async Task<int> RunAsync(IReadOnlyList<string> argv)
    {
        var args = new BenchArgs(argv, Options, Flags);
        var urls = (args.String("--url") ?? "http://127.0.0.1:6333").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(u => new Uri(u)).ToArray();
        if (urls.Length == 0 || urls.FirstOrDefault(u => !IsLoopback(u)) is { } remote)
            throw new ArgumentException($"--url {args.String("--url")}: bench server only targets loopback addresses (127.0.0.0/8, ::1, localhost)");
        var url = urls[0];
        var collection = args.Required("--collection");
        var concurrency = args.Int("--concurrency", 8);
        var duration = Math.Min(600, args.Int("--duration", 30));
        var limit = args.Int("--limit", 10);
        int? ef = args.Has("--ef") ? args.Int("--ef", 0) : null;
        var data = Dataset.Load(args.Required("--data"), args.Has("--points") ? args.Int("--points", 0) : null, 1000);

        var clients = urls.Select(u => new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency * 2 }) { BaseAddress = u, Timeout = TimeSpan.FromSeconds(60) }).ToArray();
        using var disposeClients = new ClientsDisposer(clients);
        var http = clients[0];
        if (args.Has("--upload"))
            await UploadAsync(clients, collection, data, args.Int("--shards", 1), args.Int("--replication", 1)).ConfigureAwait(false);

        var protocol = args.String("--protocol") ?? "rest";
        if (protocol is not ("rest" or "grpc" or "both"))
            throw new ArgumentException($"--protocol {protocol}: expected rest, grpc or both");
        var grpcUrl = new Uri(args.String("--grpc-url") ?? new UriBuilder(url) { Port = 6334 }.Uri.ToString());
        if (!IsLoopback(grpcUrl))
            throw new ArgumentException($"--grpc-url {grpcUrl}: bench server only targets loopback addresses");

        // Each protocol first runs unmeasured, so neither pays for JIT compilation, tiering or cold caches.
        var warmup = Math.Clamp(args.Int("--warmup", 5), 0, 120);
        Result? rest = null, grpc = null;
        if (protocol is "rest" or "both")
        {
            if (warmup > 0)
                await RunRestAsync(clients, collection, data, limit, ef, concurrency, warmup).ConfigureAwait(false);
            rest = Print("rest", await WithCpuAsync(clients, () => RunRestAsync(clients, collection, data, limit, ef, concurrency, duration)).ConfigureAwait(false), concurrency);
        }

        if (protocol is "grpc" or "both")
        {
            var channelCount = Math.Clamp(args.Int("--grpc-channels", 1), 1, concurrency);
            if (warmup > 0)
                await RunGrpcAsync(grpcUrl, collection, data, limit, ef, concurrency, channelCount, warmup).ConfigureAwait(false);
            grpc = Print($"grpc ({channelCount} channel{(channelCount == 1 ? string.Empty : "s")})", await WithCpuAsync([http], () => RunGrpcAsync(grpcUrl, collection, data, limit, ef, concurrency, channelCount, duration)).ConfigureAwait(false), concurrency);
        }
        if (rest is not null && grpc is not null)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"grpc/rest: throughput {grpc.Qps / rest.Qps:F2}x, p50 {grpc.P50 / rest.P50:F2}x, p99 {grpc.P99 / rest.P99:F2}x, server CPU per query {grpc.ServerCpuUs / rest.ServerCpuUs:F2}x, client CPU per query {grpc.ClientCpuUs / rest.ClientCpuUs:F2}x"));
        }

        return (rest?.Errors ?? 0) + (grpc?.Errors ?? 0) == 0 ? 0 : 1;
    }

    private sealed record Result(long Queries, double Seconds, double Qps, double P50, double P95, double P99, long Errors)
    {
        /// <summary>The server's CPU time per query (user + system, from its <c>/metrics</c>), in microseconds.</summary>
        public double ServerCpuUs { get; init; } = double.NaN;

        /// <summary>This process's (the clients') CPU time per query, in microseconds.</summary>
        public double ClientCpuUs { get; init; } = double.NaN;
    }

    /// <summary>
    /// Runs a measurement and adds both sides' CPU time per query. Client and server share this machine's cores,
    /// so throughput alone mixes the two; CPU per query tells what each protocol costs the server itself.
    /// </summary>
    private static async Task<Result> WithCpuAsync(HttpClient[] servers, Func<Task<Result>> run)
    {
        var serverBefore = await ServersCpuSecondsAsync(servers).ConfigureAwait(false);
        var clientBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var result = await run().ConfigureAwait(false);
        var clientAfter = Process.GetCurrentProcess().TotalProcessorTime;
        var serverAfter = await ServersCpuSecondsAsync(servers).ConfigureAwait(false);
        var queries = Math.Max(1, result.Queries);
        return result with
        {
            ServerCpuUs = (serverAfter - serverBefore) * 1e6 / queries,
            ClientCpuUs = (clientAfter - clientBefore).TotalMicroseconds / queries,
        };
    }

    /// <summary>Every server's CPU seconds, summed (a cluster's nodes all work on each query).</summary>
    private static async Task<double> ServersCpuSecondsAsync(HttpClient[] servers)
    {
        var total = 0d;
        foreach (var server in servers)
            total += await ServerCpuSecondsAsync(server).ConfigureAwait(false);
        return total;
    }

    /// <summary>The server process's CPU seconds (user + system) from its Prometheus metrics; NaN when not exported.</summary>
    private static async Task<double> ServerCpuSecondsAsync(HttpClient http)
    {
        var text = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative)).ConfigureAwait(false);
        var total = double.NaN;
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith("dotnet_process_cpu_time_seconds_total{", StringComparison.Ordinal))
                continue;
            var value = double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            total = double.IsNaN(total) ? value : total + value;
        }

        return total;
    }

    private static Result Print(string protocol, Result r, int concurrency)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{protocol}: {r.Queries:N0} queries in {r.Seconds:F1} s with {concurrency} clients: {r.Qps:F0} QPS, p50 {r.P50:F2} ms, p95 {r.P95:F2} ms, p99 {r.P99:F2} ms, errors {r.Errors}; CPU per query: server {r.ServerCpuUs:F0} µs, clients {r.ClientCpuUs:F0} µs"));
        return r;
    }

    private static Task<Result> RunRestAsync(HttpClient[] servers, string collection, Dataset data, int limit, int? ef, int concurrency, int duration)
    {
        var bodies = data.Queries.Select(q => Encoding.UTF8.GetBytes(new JsonObject
        {
            ["query"] = new JsonArray([.. q.Select(x => (JsonNode)x)]),
            ["limit"] = limit,
            ["params"] = ef is { } e ? new JsonObject { ["hnsw_ef"] = e } : null,
        }.ToJsonString())).ToArray();
        var path = new Uri($"/collections/{collection}/points/query", UriKind.Relative);
        return MeasureAsync(concurrency, duration, async (_, i) =>
        {
            using var content = new ByteArrayContent(bodies[i % bodies.Length]);
            content.Headers.ContentType = new("application/json");
            using var response = await servers[i % servers.Length].PostAsync(path, content, CancellationToken.None).ConfigureAwait(false);
            var answer = await response.Content.ReadAsByteArrayAsync(CancellationToken.None).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.OK)
                return false;
            // Decoded as a client would (the gRPC run decodes its answers too).
            using var doc = System.Text.Json.JsonDocument.Parse(answer);
            var check = 0d;
            foreach (var point in doc.RootElement.GetProperty("result").GetProperty("points").EnumerateArray())
                check += point.GetProperty("id").GetUInt64() + point.GetProperty("score").GetSingle();
            return double.IsFinite(check);
        });
    }

    private static async Task<Result> RunGrpcAsync(Uri url, string collection, Dataset data, int limit, int? ef, int concurrency, int channelCount, int duration)
    {
        // By default one channel (one HTTP/2 connection) carries every worker's calls, as an application holds one
        // QdrantClient; the REST run's HttpClient pools connections the way it does by default.
        var channels = Enumerable.Range(0, channelCount).Select(_ => Grpc.Net.Client.GrpcChannel.ForAddress(url)).ToArray();
        var clients = Enumerable.Range(0, concurrency).Select(w => new Qdrant.Client.Grpc.QdrantGrpcClient(channels[w % channelCount])).ToArray();
        try
        {
            // Requests built once, as the REST run's bodies are; both runs decode every answer.
            var requests = data.Queries.Select(q =>
            {
                var request = new Qdrant.Client.Grpc.QueryPoints { CollectionName = collection, Query = q, Limit = (ulong)limit };
                if (ef is { } e)
                    request.Params = new Qdrant.Client.Grpc.SearchParams { HnswEf = (ulong)e };
                return request;
            }).ToArray();
            return await MeasureAsync(concurrency, duration, async (worker, i) =>
            {
                try
                {
                    var answer = await clients[worker].Points.QueryAsync(requests[i % requests.Length]).ConfigureAwait(false);
                    var check = 0d;
                    foreach (var point in answer.Result)
                        check += point.Id.Num + point.Score;
                    return double.IsFinite(check);
                }
                catch (global::Grpc.Core.RpcException)
                {
                    return false;
                }
            }).ConfigureAwait(false);
        }
        finally
        {
            foreach (var channel in channels)
                channel.Dispose();
        }
    }

    /// <summary>Runs <paramref name="concurrency"/> workers calling <paramref name="query"/> (with a running index) for the duration.</summary>
    private static async Task<Result> MeasureAsync(int concurrency, int duration, Func<int, int, Task<bool>> query)
    {
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
                var started = Stopwatch.GetTimestamp();
                try
                {
                    if (!await query(w, i++).ConfigureAwait(false))
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
        return new Result(all.Length, seconds, all.Length / seconds, P(0.50), P(0.95), P(0.99), errors);
    }

    private static async Task UploadAsync(HttpClient[] servers, string collection, Dataset data, int shards, int replication)
    {
        var create = new JsonObject
        {
            ["vectors"] = new JsonObject { ["size"] = data.Dim, ["distance"] = data.Metric == "angular" ? "Cosine" : "Euclid" },
            ["shard_number"] = shards,
            ["replication_factor"] = replication,
        };
        await SendAsync(servers[0], HttpMethod.Put, $"/collections/{collection}", create).ConfigureAwait(false);
        var clock = Stopwatch.StartNew();
        var next = -500;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(async _ =>
        {
            for (var start = Interlocked.Add(ref next, 500); start < data.Base.Length; start = Interlocked.Add(ref next, 500))
                await UploadBatchAsync(servers[start / 500 % servers.Length], collection, data, start).ConfigureAwait(false);
        })).ConfigureAwait(false);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"upload: {data.Base.Length:N0} points in {clock.Elapsed.TotalSeconds:F1} s: {data.Base.Length / clock.Elapsed.TotalSeconds:F0} points/s (batches of 500, 4 in flight, wait=true, through {servers.Length} node{(servers.Length == 1 ? string.Empty : "s")})"));
        foreach (var server in servers)
            await WaitGreenAsync(server, collection).ConfigureAwait(false);
    }

    private static async Task UploadBatchAsync(HttpClient http, string collection, Dataset data, int start)
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

    private static async Task WaitGreenAsync(HttpClient http, string collection)
    {
        Console.Error.WriteLine($"bench server: waiting for {collection} to turn green on {http.BaseAddress}");
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

    private sealed class ClientsDisposer(HttpClient[] clients) : IDisposable
    {
        public void Dispose()
        {
            foreach (var client in clients)
                client.Dispose();
        }
    }

    internal static bool IsLoopback(Uri url) =>
        url.IsLoopback || (IPAddress.TryParse(url.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
}
