using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Quiver.Engine.Catalog;
using Quiver.Engine.Collections;
using Quiver.Engine.Query;
using Quiver.Segment.Filtering;
using Quiver.Segment.Segments;

namespace Quiver.Cli.Bench;

/// <summary>
/// <c>quiver bench ann</c>: loads a dataset into an in-process engine (the same catalog, collections, log and
/// optimizer the server runs), lets the optimizer build the index, then sweeps ef on one thread and reports
/// recall@10 (ann-benchmarks tie rule), QPS, p50/p99 latency, build time and index memory.
/// </summary>
internal static class AnnBenchmark
{
    public const string Usage = """
        Usage: quiver bench ann --data DIR [options]
          --data DIR            dataset folder (dataset.json + .fbin/.u8bin files, see shared/data/README.md)
          --m N                 HNSW links per node (default 16)
          --ef-construct N      build beam width (default 200)
          --ef LIST             search beam widths (default 10,20,40,80,160,320)
          --limit N             use only the first N base vectors (ground truth is then computed exactly)
          --queries Q           number of queries (default 1000)
          --runs N              time each ef's pass N times and keep the fastest, as ann-benchmarks does (default 1)
          --threads T           index build threads (default 1); queries always run one at a time on one thread
          --full-scan-threshold KB  hnsw_config.full_scan_threshold: filters matching fewer vectors (KB) scan exactly (default 10000)
          --quantization KIND   none (default); int8 (quantization_config.scalar); binary, binary2, binary1.5
                                (quantization_config.binary, encoding one_bit, two_bits, one_and_half_bits): codes
                                walked instead of the vectors, the candidates rescored with the full vectors
          --query-encoding E    binary codes' query_encoding: default (Hamming) or scalar8bits (asymmetric)
          --quantization pq     product quantization (quantization_config.product), with --compression x4..x64 (default x16)
          --quantile Q          scalar quantization's quantile, 0.5..1 (default: the whole range)
          --oversampling F      candidates per result the codes walk keeps for rescoring (default 1; 1..100)
          --filter-labels       also sweep filters on a class label (~10%) and label AND row%10 bucket (~1%)
          --out FILE            write the results as JSON
          --plot FILE.png       draw recall@10 vs QPS (log scale), one line per filter setting, markers labelled by ef
          --on-disk             vectors on_disk: indexed segments' rows stay in their files, memory-mapped (with
                                --quantization, only codes and graph are held in memory)
          --graph-on-disk       hnsw_config.on_disk: the graph is memory-mapped from its file too
          --datatype TYPE       float32 (default), float16 or uint8: how indexed segments store the rows (uint8 needs
                                integer components from 0 to 255, as fashion-mnist's pixels; recall is against the
                                dataset's float32 ground truth)
          --storage DIR         where the engine keeps its files (default: a temporary folder, removed after; a
                                given folder is kept)
          --reuse               search the collection an earlier run left in --storage instead of building one:
                                reads only the queries and ground truth, so it can run under a memory limit far
                                below the vectors' size (see bench/memory-limit.sh)
        """;

    private static readonly HashSet<string> Options = ["--data", "--m", "--ef-construct", "--ef", "--limit", "--queries", "--runs", "--threads", "--out", "--storage", "--full-scan-threshold", "--plot", "--quantization", "--quantile", "--oversampling", "--query-encoding", "--compression", "--datatype"];
    private static readonly HashSet<string> Flags = ["--filter-labels", "--on-disk", "--graph-on-disk", "--reuse"];

    public static async Task<int> RunAsync(IReadOnlyList<string> argv)
    {
        var args = new BenchArgs(argv, Options, Flags);
        var dir = args.Required("--data");
        var m = args.Int("--m", 16, 2);
        var efConstruct = args.Int("--ef-construct", 200, 4);
        var efs = args.IntList("--ef", [10, 20, 40, 80, 160, 320]);
        var threads = args.Int("--threads", 1);
        var queryCount = args.Int("--queries", 1000);
        var timedRuns = args.Int("--runs", 1, 1);
        var filterLabels = args.Has("--filter-labels");
        var fullScanKb = args.Int("--full-scan-threshold", 10_000, 0);
        int? limit = args.Has("--limit") ? args.Int("--limit", 0) : null;
        var plotPath = args.String("--plot") is { } plot ? RecallPlot.Validate(plot) : null;
        var datatype = args.String("--datatype") ?? "float32";
        if (datatype is not ("float32" or "float16" or "uint8"))
            throw new ArgumentException($"--datatype: expected float32, float16 or uint8, got '{datatype}'");
        var quantization = args.String("--quantization") ?? "none";
        if (quantization is not ("none" or "int8" or "binary" or "binary2" or "binary1.5" or "pq"))
            throw new ArgumentException($"--quantization: expected none, int8, binary, binary2, binary1.5 or pq, got '{quantization}'");
        var compression = args.String("--compression") ?? "x16";
        if (compression is not ("x4" or "x8" or "x16" or "x32" or "x64"))
            throw new ArgumentException($"--compression: expected x4, x8, x16, x32 or x64, got '{compression}'");
        var queryEncoding = args.String("--query-encoding") ?? "default";
        if (queryEncoding is not ("default" or "binary" or "scalar4bits" or "scalar8bits"))
            throw new ArgumentException($"--query-encoding: expected default, binary, scalar4bits or scalar8bits, got '{queryEncoding}'");
        var quantile = args.Has("--quantile") ? args.Double("--quantile", 1) : (double?)null;
        if (quantile is { } q && !(q >= 0.5 && q <= 1))
            throw new ArgumentException($"--quantile: expected a number from 0.5 to 1, got {q}");
        var oversampling = args.Double("--oversampling", 1);
        if (!(oversampling >= 1 && oversampling <= 100))
            throw new ArgumentException($"--oversampling: expected a number from 1 to 100, got {oversampling}");
        var searchQuantization = quantization == "none" ? default : new QuantizationSearch(false, true, oversampling);

        var reuse = args.Has("--reuse");
        if (reuse && !args.Has("--storage"))
            throw new ArgumentException("--reuse: needs --storage DIR, the folder an earlier run with --storage DIR left");
        if (reuse && limit is not null)
            throw new ArgumentException("--reuse: searches the whole collection; --limit does not apply");
        Console.Error.WriteLine($"bench ann: loading {dir}{(reuse ? " (queries and ground truth only)" : string.Empty)}");
        var data = Dataset.Load(dir, limit, queryCount, withBase: !reuse);
        if (filterLabels && (data.BaseLabels is null || data.QueryLabels is null))
            throw new ArgumentException($"--filter-labels: {dir} has no base.labels.u8/query.labels.u8");
        var angular = data.Metric == "angular";
        var storage = args.String("--storage") ?? Path.Combine(Path.GetTempPath(), "quiver-bench-" + Guid.NewGuid().ToString("N"));
        var ownsStorage = !args.Has("--storage");

        try
        {
            var opening = Stopwatch.StartNew();
            await using var catalog = CollectionCatalog.Open(new CatalogOptions { StoragePath = storage, Shards = new() { Fsync = false, FlushInterval = TimeSpan.FromMinutes(10) } }, NullLogger.Instance);
            if (reuse)
                Console.Error.WriteLine($"bench ann: opened {storage} in {opening.Elapsed.TotalSeconds:F1} s; managed heap {GC.GetTotalMemory(forceFullCollection: true) / 1048576.0:F1} MiB live");
            var hnsw = new JsonObject { ["m"] = m, ["ef_construct"] = efConstruct, ["max_indexing_threads"] = threads, ["full_scan_threshold"] = fullScanKb, ["on_disk"] = args.Has("--graph-on-disk") };
            var quantizationConfig = quantization switch
            {
                "none" => null,
                "int8" => new JsonObject { ["scalar"] = new JsonObject { ["type"] = "int8", ["quantile"] = quantile, ["always_ram"] = true } },
                "pq" => new JsonObject { ["product"] = new JsonObject { ["compression"] = compression, ["always_ram"] = true } },
                _ => new JsonObject
                {
                    ["binary"] = new JsonObject
                    {
                        ["encoding"] = quantization switch { "binary2" => "two_bits", "binary1.5" => "one_and_half_bits", _ => "one_bit" },
                        ["query_encoding"] = queryEncoding,
                        ["always_ram"] = true,
                    },
                },
            };
            double buildSeconds;
            Collection collection;
            if (reuse)
            {
                // The collection's own settings apply; the ones given here only label the results.
                collection = catalog.TryGet("bench") ?? throw new ArgumentException($"--reuse: {storage} holds no collection 'bench'");
                if (collection.Stats().PointsCount != data.BaseCount)
                    throw new ArgumentException($"--reuse: the collection in {storage} holds {collection.Stats().PointsCount:N0} points, {dir} has {data.BaseCount:N0}");
                buildSeconds = 0;
            }
            else
            {
                collection = await BenchCollection.CreateAndLoadAsync(catalog, "bench", data, hnsw, filterLabels, quantization: quantizationConfig, vectorsOnDisk: args.Has("--on-disk"), datatype: datatype);
                data.DropBase(); // held by the engine now; a run with on_disk vectors should not keep a copy

                // Uploaded with indexing off; switching it on makes one segment with one graph over the whole set.
                // The build time is until that segment serves queries; writing its files follows in the background.
                var (serving, done) = await BenchCollection.IndexAsync(catalog, "bench", collection, 1);
                buildSeconds = serving.TotalSeconds;
                Console.Error.WriteLine($"bench ann: index serving after {buildSeconds:F1} s ({threads} threads), files written after {done.TotalSeconds:F1} s");
            }

            // Wait for background work (codes rebuilt after a restart, rows moved to their files) before measuring.
            await BenchCollection.WaitIdleAsync(collection);
            GC.Collect();
            var memory = collection.Memory();
            Console.Error.WriteLine($"bench ann: vectors {memory.VectorBytes / 1048576.0:F1} MiB in memory + {memory.MappedVectorBytes / 1048576.0:F1} MiB mapped, graph {memory.GraphBytes / 1048576.0:F1} MiB, codes {memory.CodeBytes / 1048576.0:F1} MiB, sketch {memory.SketchBytes / 1048576.0:F1} MiB");

            var runs = new List<RunResult>();
            runs.AddRange(Sweep(collection, data, angular, efs, null, timedRuns, searchQuantization));
            if (filterLabels)
            {
                runs.AddRange(Sweep(collection, data, angular, efs, "10%", timedRuns, searchQuantization));
                runs.AddRange(Sweep(collection, data, angular, efs, "1%", timedRuns, searchQuantization));
            }

            var process = ProcessMemory.Read();
            Print(data, buildSeconds, memory, runs, m, efConstruct, threads);
            Console.WriteLine(process.Describe());
            if (args.String("--out") is { } outPath)
            {
                var json = ToJson(data, buildSeconds, memory, runs, m, efConstruct, threads);
                json["vectors_on_disk"] = args.Has("--on-disk");
                json["graph_on_disk"] = args.Has("--graph-on-disk");
                json["reused"] = reuse;
                json["mapped_vector_bytes"] = memory.MappedVectorBytes;
                process.AddTo(json);
                json["quantization"] = quantization;
                json["datatype"] = datatype;
                json["query_encoding"] = queryEncoding;
                json["compression"] = compression;
                json["quantile"] = quantile;
                json["oversampling"] = oversampling;
                await File.WriteAllTextAsync(outPath, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            }

            if (plotPath is not null)
            {
                RecallPlot.Save(plotPath, data.Name, data.BaseCount, m, efConstruct, runs);
                Console.Error.WriteLine($"bench ann: plot written to {plotPath}");
            }

            return 0;
        }
        finally
        {
            if (ownsStorage && Directory.Exists(storage))
                Directory.Delete(storage, recursive: true);
        }
    }

    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(3);

    internal sealed record RunResult(string? Filter, int Ef, double Recall, double Qps, double P50Ms, double P99Ms);

    private static IEnumerable<RunResult> Sweep(Collection collection, Dataset data, bool angular, int[] efs, string? filterShare, int timedRuns, QuantizationSearch quantization)
    {
        var filters = new Filter?[data.Queries.Length];
        if (filterShare is not null)
        {
            for (var q = 0; q < filters.Length; q++)
            {
                var json = filterShare == "10%"
                    ? $$$"""{"must":[{"key":"label","match":{"value":{{{data.QueryLabels![q]}}}}}]}"""
                    : $$$"""{"must":[{"key":"label","match":{"value":{{{data.QueryLabels![q]}}}}},{"key":"bucket","match":{"value":{{{q % 10}}}}}]}""";
                using var doc = JsonDocument.Parse(json);
                filters[q] = FilterParser.Parse(doc.RootElement);
            }
        }

        // The k-th true distance per query: shipped ground truth when it applies, else the engine's exact search.
        var kth = new double[data.Queries.Length];
        for (var q = 0; q < kth.Length; q++)
        {
            if (filterShare is null && data.TruthDistances is { } truth)
            {
                kth[q] = truth[q][9];
                continue;
            }

            var exact = collection.Search(Request(data.Queries[q], filters[q], 0, exact: true), default);
            kth[q] = exact.Count == 0 ? double.MaxValue : Distance(exact[^1].Score, angular);
        }

        // A server runs warm: queries for a few seconds first, so the JIT has tiered the search path up (with
        // dynamic PGO) before anything is timed; a single pass of fast queries ends before that happens.
        var warm = Stopwatch.StartNew();
        for (var q = 0; warm.Elapsed < WarmUp; q = (q + 1) % data.Queries.Length)
            collection.Search(Request(data.Queries[q], filters[q], efs[0], exact: false, quantization), default);

        var latencies = new double[data.Queries.Length];
        foreach (var ef in efs)
        {
            // An untimed pass first (as the hnswlib driver does): JIT tiers and caches settle before timing.
            for (var q = 0; q < data.Queries.Length; q++)
                collection.Search(Request(data.Queries[q], filters[q], ef, exact: false, quantization), default);

            long hits = 0;
            var seconds = double.MaxValue;
            double[]? fastest = null;
            for (var pass = 0; pass < timedRuns; pass++)
            {
                // Every pass returns the same results; the fastest counts, so a burst of load from another tenant
                // of a shared machine does not decide the point.
                hits = 0;
                var total = Stopwatch.StartNew();
                for (var q = 0; q < data.Queries.Length; q++)
                {
                    var started = Stopwatch.GetTimestamp();
                    var result = collection.Search(Request(data.Queries[q], filters[q], ef, exact: false, quantization), default);
                    latencies[q] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                    foreach (var r in result)
                    {
                        if (Distance(r.Score, angular) <= kth[q] + 1e-3)
                            hits++;
                    }
                }

                if (total.Elapsed.TotalSeconds < seconds)
                {
                    seconds = total.Elapsed.TotalSeconds;
                    fastest = (double[])latencies.Clone();
                }
            }

            fastest!.CopyTo(latencies, 0);
            Array.Sort(latencies);
            var run = new RunResult(filterShare, ef, hits / (10.0 * data.Queries.Length), data.Queries.Length / seconds,
                latencies[latencies.Length / 2], latencies[Math.Min(latencies.Length - 1, (int)Math.Ceiling(latencies.Length * 0.99) - 1)]);
            Console.Error.WriteLine($"bench ann: filter {filterShare ?? "none"} ef {ef}: recall {run.Recall:F4} qps {run.Qps:F0}");
            yield return run;
        }
    }

    private static SearchRequest Request(float[] query, Filter? filter, int ef, bool exact, QuantizationSearch quantization = default) =>
        new(new NearestQuery(query, null), string.Empty, filter, 10, 0, null, WithPayload.None, WithVector.None, exact, ef > 0 ? ef : null, Quantization: quantization);

    // Scores come back on the API's scale: cosine similarity (angular) or L2 distance (euclidean).
    private static double Distance(float score, bool angular) => angular ? 1.0 - score : score;

    private static void Print(Dataset data, double buildSeconds, CollectionMemory memory, List<RunResult> runs, int m, int efConstruct, int threads)
    {
        Console.WriteLine($"dataset {data.Name}: {data.BaseCount:N0} x {data.Dim} ({data.Metric}), {data.Queries.Length:N0} queries, M={m} ef_construct={efConstruct}");
        Console.WriteLine($"build {buildSeconds:F2} s with {threads} thread(s); index memory {memory.TotalBytes / 1048576.0:F1} MiB (vectors {memory.VectorBytes / 1048576.0:F1} + graph {memory.GraphBytes / 1048576.0:F1} + codes {memory.CodeBytes / 1048576.0:F1} + sketch {memory.SketchBytes / 1048576.0:F1})");
        Console.WriteLine($"{"filter",-7} {"ef",5} {"recall@10",10} {"QPS",9} {"p50 ms",8} {"p99 ms",8}");
        foreach (var r in runs)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{r.Filter ?? "-",-7} {r.Ef,5} {r.Recall,10:F4} {r.Qps,9:F0} {r.P50Ms,8:F3} {r.P99Ms,8:F3}"));
    }

    private static JsonObject ToJson(Dataset data, double buildSeconds, CollectionMemory memory, List<RunResult> runs, int m, int efConstruct, int threads) => new()
    {
        ["engine"] = "quiver",
        ["dataset"] = data.Name,
        ["points"] = data.BaseCount,
        ["dim"] = data.Dim,
        ["metric"] = data.Metric,
        ["m"] = m,
        ["ef_construct"] = efConstruct,
        ["build_threads"] = threads,
        ["build_seconds"] = buildSeconds,
        ["index_bytes"] = memory.TotalBytes,
        ["vector_bytes"] = memory.VectorBytes,
        ["graph_bytes"] = memory.GraphBytes,
        ["sketch_bytes"] = memory.SketchBytes,
        ["code_bytes"] = memory.CodeBytes,
        ["runs"] = new JsonArray([.. runs.Select(r => (JsonNode)new JsonObject
        {
            ["filter"] = r.Filter,
            ["ef"] = r.Ef,
            ["recall_at_10"] = r.Recall,
            ["qps"] = r.Qps,
            ["p50_ms"] = r.P50Ms,
            ["p99_ms"] = r.P99Ms,
        })]),
    };
}
