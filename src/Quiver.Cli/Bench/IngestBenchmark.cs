using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Quiver.Cli.Bench;

/// <summary>
/// <c>quiver bench ingest</c>: sustained ingest from NATS JetStream into an indexed collection of a running server,
/// through the server's own connector. Publishes a dataset's base vectors as upsert events as fast as JetStream
/// takes them, and measures the connector's throughput and, for a sample of events, the delay from publishing to
/// the point being returned by a query.
/// </summary>
internal static class IngestBenchmark
{
    public const string Usage = """
        Usage: quiver bench ingest --url URL --nats URL --data DIR [options]
          --events N        events to publish (default: every base vector of the dataset)
          --rate R          publish R events per second (default 0: as fast as JetStream takes them, which
                            measures throughput; below capacity the delay shows freshness, not queueing)
          --probe-every K   measure publish-to-searchable delay for every K-th event (default 200)
          --collection C    the target collection (default bench_ingest; re-created)
          --out FILE        write the figures as JSON
        """;

    private static readonly HashSet<string> Options = ["--url", "--nats", "--data", "--events", "--probe-every", "--collection", "--out", "--rate"];
    private const string Stream = "QUIVER_BENCH_INGEST";
    private const string Subject = "quiver.bench.ingest";
    private const string Connector = "bench-ingest";

    public static async Task<int> RunAsync(IReadOnlyList<string> argv)
    {
        var args = new BenchArgs(argv, Options, new HashSet<string>());
        var url = new Uri(args.Required("--url"));
        var natsUrl = args.Required("--nats");
        var data = Dataset.Load(args.Required("--data"), args.Has("--events") ? args.Int("--events", 0) : null, 1);
        var probeEvery = args.Int("--probe-every", 200);
        var rate = args.Int("--rate", 0, 0);
        var collection = args.String("--collection") ?? "bench_ingest";
        using var http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(60) };

        // A fresh collection, stream and connector.
        await http.DeleteAsync($"/quiver/connectors/{Connector}");
        await http.DeleteAsync($"/collections/{collection}");
        var distance = data.Metric switch { "angular" or "cosine" => "Cosine", "dot" => "Dot", _ => "Euclid" };
        Ensure(await http.PutAsJsonAsync($"/collections/{collection}", new { vectors = new { size = data.Dim, distance } }));
        await using var nats = new NatsConnection(new NatsOpts { Url = natsUrl });
        var js = new NatsJSContext(nats);
        try
        {
            await js.DeleteStreamAsync(Stream);
        }
        catch (NatsJSApiException ex) when (ex.Error.Code == 404)
        {
        }

        await js.CreateStreamAsync(new StreamConfig(Stream, [Subject]));
        Ensure(await http.PutAsJsonAsync($"/quiver/connectors/{Connector}", new
        {
            kind = "nats",
            collection,
            nats = new { url = natsUrl, stream = Stream, subject = Subject },
        }));

        var events = data.Base.Select((v, i) => Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { op = "upsert", id = i, vector = v }))).ToArray();
        Console.Error.WriteLine($"bench ingest: publishing {events.Length:N0} events of {data.Dim} dimensions to {natsUrl}");
        var probes = new ConcurrentQueue<(int Id, long Published)>();
        var delays = new List<double>();
        using var stop = new CancellationTokenSource();
        var prober = Task.Run(() => ProbeAsync(http, collection, probes, delays, stop.Token));

        var clock = Stopwatch.StartNew();
        var inFlight = new Queue<Task<PubAckResponse>>();
        for (var i = 0; i < events.Length; i++)
        {
            if (rate > 0 && i % Math.Max(1, rate / 200) == 0)
            {
                // Paced in steps of 5 ms.
                var due = TimeSpan.FromSeconds((double)i / rate);
                if (clock.Elapsed < due)
                    await Task.Delay(due - clock.Elapsed);
            }

            var started = Stopwatch.GetTimestamp();
            inFlight.Enqueue(js.PublishAsync(Subject, events[i]).AsTask());
            if (i % probeEvery == 0)
                probes.Enqueue((i, started));
            if (inFlight.Count >= 512)
                (await inFlight.Dequeue()).EnsureSuccess();
        }

        while (inFlight.Count > 0)
            (await inFlight.Dequeue()).EnsureSuccess();
        var published = clock.Elapsed;
        Console.Error.WriteLine($"bench ingest: published in {published.TotalSeconds:F1} s; waiting for the connector");

        long applied = 0;
        var last = Stopwatch.StartNew();
        while (applied < events.Length)
        {
            var status = await http.GetFromJsonAsync<JsonNode>($"/quiver/connectors/{Connector}");
            var now = status!["result"]!["status"]!["applied"]!.GetValue<long>();
            if (now != applied)
                last.Restart();
            else if (last.Elapsed > TimeSpan.FromSeconds(60))
                throw new InvalidOperationException($"the connector stalled at {applied} of {events.Length} events: {status.ToJsonString()}");
            applied = now;
            await Task.Delay(5);
        }

        var ingested = clock.Elapsed;
        while (!probes.IsEmpty)
            await Task.Delay(10);
        await stop.CancelAsync();
        await prober;
        var info = await http.GetFromJsonAsync<JsonNode>($"/collections/{collection}");
        delays.Sort();
        double P(double q) => delays.Count == 0 ? double.NaN : delays[Math.Min(delays.Count - 1, (int)(q * delays.Count))];
        var throughput = events.Length / ingested.TotalSeconds;
        Console.WriteLine($"events {events.Length:N0}, dim {data.Dim}; published in {published.TotalSeconds:F1} s ({events.Length / published.TotalSeconds:N0}/s)");
        Console.WriteLine($"ingest throughput: {throughput:N0} events/s (publish start to all applied: {ingested.TotalSeconds:F1} s)");
        Console.WriteLine($"publish -> searchable over {delays.Count} probes: p50 {P(0.5):F1} ms, p99 {P(0.99):F1} ms, max {P(1):F1} ms");
        Console.WriteLine($"collection: status {info?["result"]?["status"]}, points {info?["result"]?["points_count"]}, indexed {info?["result"]?["indexed_vectors_count"]}");
        if (args.String("--out") is { } outPath)
        {
            await File.WriteAllTextAsync(outPath, new JsonObject
            {
                ["dataset"] = data.Name,
                ["events"] = events.Length,
                ["publish_seconds"] = published.TotalSeconds,
                ["ingest_seconds"] = ingested.TotalSeconds,
                ["publish_rate"] = rate,
                ["events_per_second"] = throughput,
                ["searchable_p50_ms"] = P(0.5),
                ["searchable_p99_ms"] = P(0.99),
                ["probes"] = delays.Count,
            }.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        }

        return 0;
    }

    /// <summary>For each probe in publish order: polls a filtered query until the point is returned.</summary>
    private static async Task ProbeAsync(HttpClient http, string collection, ConcurrentQueue<(int Id, long Published)> probes, List<double> delays, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            if (!probes.TryPeek(out var probe))
            {
                await Task.Delay(1, CancellationToken.None);
                continue;
            }

            var body = new { filter = new { must = new[] { new { has_id = new[] { probe.Id } } } }, limit = 1 };
            while (true)
            {
                using var response = await http.PostAsJsonAsync($"/collections/{collection}/points/query", body, CancellationToken.None);
                var json = await response.Content.ReadFromJsonAsync<JsonNode>(CancellationToken.None);
                if (json?["result"]?["points"]?.AsArray().Count > 0)
                    break;
            }

            delays.Add(Stopwatch.GetElapsedTime(probe.Published).TotalMilliseconds);
            probes.TryDequeue(out _);
        }
    }

    private static void Ensure(HttpResponseMessage response)
    {
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: {(int)response.StatusCode} {response.Content.ReadAsStringAsync().GetAwaiter().GetResult()}");
    }
}
