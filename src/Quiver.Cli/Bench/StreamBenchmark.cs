using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Quiver.Engine.Catalog;
using Quiver.Engine.Collections;
using Quiver.Engine.Operations;
using Quiver.Engine.Query;
using Quiver.Segment.Payloads;
using Quiver.Segment.Points;

namespace Quiver.Cli.Bench;

/// <summary>
/// <c>quiver bench stream</c>: freshness and stability under a write stream. Loads and indexes a dataset's base
/// set in-process, measures idle query latency, then streams upserts at a fixed rate while one task checks how
/// soon each acknowledged point is returned by a query and another keeps querying, while the optimizer seals
/// and indexes the new points in the background.
/// </summary>
internal static class StreamBenchmark
{
    public const string Usage = """
        Usage: quiver bench stream --data DIR [options]
          --rate N          upserts per second (default 5000)
          --duration S      seconds of streaming (default 60, at most 600)
          --ef N            hnsw_ef of the measured queries (default 64)
          --query-rate Q    measured queries per second, idle and while streaming (default 1000;
                            0 = back to back, which keeps one core busy with queries alone)
          --threads T       index build threads (default: all cores but one)
        """;

    private static readonly HashSet<string> Options = ["--data", "--rate", "--duration", "--ef", "--threads", "--query-rate"];

    public static async Task<int> RunAsync(IReadOnlyList<string> argv)
    {
        var args = new BenchArgs(argv, Options, new HashSet<string>());
        var data = Dataset.Load(args.Required("--data"), null, 1000);
        var rate = args.Int("--rate", 5000);
        var duration = Math.Min(600, args.Int("--duration", 60));
        var ef = args.Int("--ef", 64);
        var queryRate = args.Int("--query-rate", 1000, 0);
        var threads = args.Int("--threads", 0, 0);
        var storage = Path.Combine(Path.GetTempPath(), "quiver-stream-" + Guid.NewGuid().ToString("N"));
        try
        {
            await using var catalog = CollectionCatalog.Open(new CatalogOptions { StoragePath = storage }, NullLogger.Instance);
            var hnsw = new JsonObject { ["m"] = 16, ["ef_construct"] = 100, ["max_indexing_threads"] = threads };
            // The base set streams in with indexing on at the default threshold, as a collection that has been
            // taking writes all along would: its appendable segment is indexed live, and stays so while more arrive.
            var collection = await BenchCollection.CreateAndLoadAsync(catalog, "stream", data, hnsw, labels: false, indexingThresholdKb: 10_000);
            Console.Error.WriteLine($"bench stream: loaded {data.Base.Length:N0} points; waiting for the optimizer");
            await BenchCollection.IndexAsync(catalog, "stream", collection, 10_000);

            var idle = QueryFor(collection, data, ef, queryRate, TimeSpan.FromSeconds(10), CancellationToken.None);
            Console.Error.WriteLine($"bench stream: idle query p99 {Percentile(idle, 0.99):F3} ms; streaming {rate}/s for {duration} s");

            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(duration));
            var freshness = new List<double>();
            var applyMs = new List<double>();
            long written = 0;
            var optimizingSeen = 0;
            var batches = 0;
            // The latest acknowledged probe (a point and its ack time); the prober takes it, older ones are skipped.
            (PointWrite Point, long Acked)? latest = null;
            var probeLock = new Lock();
            using var inFlight = new SemaphoreSlim(MaxBatchesInFlight);
            var writer = Task.Run(async () =>
            {
                var random = new Random(1);
                var perTick = Math.Max(1, rate / 100);
                var next = (ulong)data.Base.Length;
                var clock = Stopwatch.StartNew();
                var tick = 0L;
                var pending = new List<Task>();
                while (!stop.IsCancellationRequested)
                {
                    // Pace to the target rate: one batch per 10 ms tick. Batches are pipelined, as concurrent
                    // producers would send them: a batch does not wait for the previous one's acknowledgement.
                    var due = TimeSpan.FromMilliseconds(tick * 10);
                    if (clock.Elapsed < due)
                        await Task.Delay(due - clock.Elapsed);
                    tick++;
                    var batch = new PointWrite[perTick];
                    for (var i = 0; i < perTick; i++)
                    {
                        var source = data.Base[random.Next(data.Base.Length)];
                        var v = new float[source.Length];
                        for (var d = 0; d < v.Length; d++)
                            v[d] = source[d] + (float)((random.NextDouble() - 0.5) * 1e-2);
                        batch[i] = new PointWrite(PointId.FromNumber(next++), [new NamedVector(string.Empty, v)], Payload.Empty);
                    }

                    await inFlight.WaitAsync();
                    pending.Add(WriteAsync(batch));
                }

                await Task.WhenAll(pending);
            });

            async Task WriteAsync(PointWrite[] batch)
            {
                try
                {
                    var applyStart = Stopwatch.GetTimestamp();
                    await collection.ApplyAsync(new UpsertPoints(batch), wait: true, default);
                    var acked = Stopwatch.GetTimestamp();
                    lock (probeLock)
                    {
                        applyMs.Add(Stopwatch.GetElapsedTime(applyStart, acked).TotalMilliseconds);
                        written += batch.Length;
                        batches++;
                        if (collection.Stats().Optimizing)
                            optimizingSeen++;
                        latest = (batch[0], acked);
                    }
                }
                finally
                {
                    inFlight.Release();
                }
            }

            // Freshness: how long after its acknowledgement a query first returns a point.
            var prober = Task.Factory.StartNew(
                () =>
                {
                    while (!stop.IsCancellationRequested)
                    {
                        (PointWrite Point, long Acked)? item;
                        lock (probeLock)
                        {
                            item = latest;
                            latest = null;
                        }

                        if (item is not { } probe)
                        {
                            Thread.Sleep(1);
                            continue;
                        }

                        while (Stopwatch.GetElapsedTime(probe.Acked) < TimeSpan.FromSeconds(5))
                        {
                            var hit = collection.Search(new SearchRequest(new NearestQuery(probe.Point.Vectors[0].Values, null), string.Empty, null, 1, 0, null, WithPayload.None, WithVector.None, false, ef), default);
                            if (hit.Count > 0 && hit[0].Id == probe.Point.Id)
                                break;
                        }

                        freshness.Add(Stopwatch.GetElapsedTime(probe.Acked).TotalMilliseconds);
                    }
                },
                CancellationToken.None,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default);

            // A thread of its own: a blocking loop on the pool would starve the engine's apply loop of workers.
            var busy = Task.Factory.StartNew(() => QueryFor(collection, data, ef, queryRate, TimeSpan.FromSeconds(duration), stop.Token), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            await writer;
            await prober;
            var streaming = await busy;

            var idleP99 = Percentile(idle, 0.99);
            var streamingP99 = Percentile(streaming, 0.99);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"dataset {data.Name}: {data.Base.Length:N0} base points, then {written:N0} upserts in {duration} s ({written / (double)duration:F0}/s, target {rate}/s)"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"freshness (ack -> returned by a query): p50 {Percentile(freshness, 0.5):F3} ms, p99 {Percentile(freshness, 0.99):F3} ms, max {freshness.Max():F3} ms over {freshness.Count:N0} probes"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"query latency (ef {ef}, {(queryRate > 0 ? $"{queryRate}/s" : "back to back")}, {idle.Count:N0} idle and {streaming.Count:N0} streaming queries): idle p50 {Percentile(idle, 0.5):F3} ms p99 {idleP99:F3} ms; while streaming p50 {Percentile(streaming, 0.5):F3} ms p99 {streamingP99:F3} ms; ratio {streamingP99 / idleP99:F2}x"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"write batch (wait=true): p50 {Percentile(applyMs, 0.5):F3} ms, p99 {Percentile(applyMs, 0.99):F3} ms"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"optimizer busy during {optimizingSeen:N0} of {batches:N0} write batches; segments at the end: {collection.Stats().SegmentsCount}"));
            return 0;
        }
        finally
        {
            if (Directory.Exists(storage))
                Directory.Delete(storage, recursive: true);
        }
    }

    /// <summary>Write batches sent before the oldest is acknowledged; beyond it the writer waits.</summary>
    private const int MaxBatchesInFlight = 32;

    private static List<double> QueryFor(Collection collection, Dataset data, int ef, int rate, TimeSpan time, CancellationToken stop)
    {
        var latencies = new List<double>();
        var clock = Stopwatch.StartNew();
        var q = 0;
        while (clock.Elapsed < time && !stop.IsCancellationRequested)
        {
            if (rate > 0)
            {
                // Paced by sleeping (whole milliseconds), so the pacing itself does not occupy a core.
                var wait = TimeSpan.FromSeconds((double)q / rate) - clock.Elapsed;
                if (wait > TimeSpan.Zero)
                    Thread.Sleep(wait);
            }

            var started = Stopwatch.GetTimestamp();
            collection.Search(new SearchRequest(new NearestQuery(data.Queries[q++ % data.Queries.Length], null), string.Empty, null, 10, 0, null, WithPayload.None, WithVector.None, false, ef), default);
            latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        return latencies;
    }

    private static double Percentile(List<double> values, double q)
    {
        if (values.Count == 0)
            return 0;
        var sorted = values.Order().ToArray();
        return sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(sorted.Length * q) - 1)];
    }
}
