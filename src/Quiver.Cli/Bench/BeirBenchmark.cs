using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Quiver.Cli.Bench;

/// <summary>
/// <c>quiver bench beir</c>: retrieval quality and embedding throughput on a BEIR dataset (SciFact ships in
/// ../shared/data) through a running server. The corpus goes in over REST as text, so the server embeds it (BM25
/// sparse and all-MiniLM-L6-v2 dense); the test queries then run as BM25 alone, dense alone, their RRF fusion via
/// prefetch, and a two-stage dense search (int8 codes for 100 candidates, rescored with full vectors) against the
/// same dense search at full precision and on int8 codes alone. Reports nDCG@10 and Recall@100 against the human relevance judgments.
/// </summary>
internal static class BeirBenchmark
{
    public const string Usage = """
        Usage: quiver bench beir --url http://127.0.0.1:6333 --data DIR [options]
          --collection NAME   collection to (re)create and load (default beir-<dataset folder>)
          --split NAME        qrels split to evaluate (default test)
          --batch N           documents per upsert request (default 64)
          --avg-len N         BM25 avg_len: the corpus's mean document length in tokens (default: measured by the server's encoder)
          --skip-upload       query an already loaded collection
          --out FILE          write {"bm25", "dense", "hybrid", ...} as JSON
        DIR holds corpus.jsonl, queries.jsonl and qrels/<split>.tsv (the BEIR layout).
        """;

    private const string DenseModel = "sentence-transformers/all-MiniLM-L6-v2";
    private static readonly HashSet<string> Options = ["--url", "--data", "--collection", "--split", "--batch", "--avg-len", "--out"];
    private static readonly HashSet<string> Flags = ["--skip-upload"];

    private sealed record Document(string Id, string Text);

    public static async Task<int> RunAsync(IReadOnlyList<string> argv)
    {
        var args = new BenchArgs(argv, Options, Flags);
        var url = new Uri(args.String("--url") ?? "http://127.0.0.1:6333");
        if (!ServerBenchmark.IsLoopback(url))
            throw new ArgumentException($"--url {url}: bench beir only targets loopback addresses (127.0.0.0/8, ::1, localhost)");
        var dir = args.Required("--data");
        var collection = args.String("--collection") ?? "beir-" + Path.GetFileName(Path.GetFullPath(dir).TrimEnd('/'));
        var split = args.String("--split") ?? "test";
        var batch = args.Int("--batch", 64);

        var corpus = ReadCorpus(Path.Combine(dir, "corpus.jsonl"));
        var queries = ReadQueries(Path.Combine(dir, "queries.jsonl"));
        var qrels = ReadQrels(Path.Combine(dir, "qrels", split + ".tsv"));
        var evaluated = qrels.Keys.Where(queries.ContainsKey).Order(StringComparer.Ordinal).ToList();
        Console.Error.WriteLine($"bench beir: {corpus.Count:N0} documents, {evaluated.Count} {split} queries with judgments");
        // The mean document length in BM25 tokens, as the server's encoder counts them (stop words out).
        var avgLen = args.Has("--avg-len") ? args.Double("--avg-len", 256) : MeanTokens(corpus);
        var bm25Options = new JsonObject { ["avg_len"] = Math.Round(avgLen, 2) };

        using var http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromMinutes(10) };
        var report = new JsonObject { ["dataset"] = Path.GetFileName(Path.GetFullPath(dir).TrimEnd('/')), ["documents"] = corpus.Count, ["queries"] = evaluated.Count, ["bm25_avg_len"] = Math.Round(avgLen, 2) };
        if (!args.Has("--skip-upload"))
            report["ingest"] = await UploadAsync(http, collection, corpus, batch, bm25Options).ConfigureAwait(false);

        var runs = new (string Name, Func<string, JsonObject> Body)[]
        {
            ("bm25", q => Search(Doc(q, "qdrant/bm25", bm25Options), "bm25")),
            ("dense", q => Search(Doc(q, DenseModel), "dense")),
            ("hybrid", q => new JsonObject
            {
                ["prefetch"] = new JsonArray(Search(Doc(q, "qdrant/bm25", bm25Options), "bm25"), Search(Doc(q, DenseModel), "dense")),
                ["query"] = new JsonObject { ["fusion"] = "rrf" },
                ["limit"] = 100,
            }),
            ("dense_full_precision", q => With(Search(Doc(q, DenseModel), "dense"), "params", new JsonObject { ["quantization"] = new JsonObject { ["ignore"] = true } })),
            ("dense_int8_only", q => With(Search(Doc(q, DenseModel), "dense"), "params", new JsonObject { ["quantization"] = new JsonObject { ["rescore"] = false } })),
            ("dense_int8_prefetch_rescored", q => new JsonObject
            {
                ["prefetch"] = With(Search(Doc(q, DenseModel), "dense"), "params", new JsonObject { ["quantization"] = new JsonObject { ["rescore"] = false } }),
                ["query"] = Doc(q, DenseModel),
                ["using"] = "dense",
                ["limit"] = 100,
            }),
        };

        Console.WriteLine($"{"run",-30} {"nDCG@10",8} {"Recall@100",10} {"queries/s",10}");
        foreach (var (name, body) in runs)
        {
            var (ndcg, recall, qps) = await EvaluateAsync(http, collection, evaluated, queries, qrels, corpus, body).ConfigureAwait(false);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-30} {ndcg,8:F4} {recall,10:F4} {qps,10:F1}"));
            report[name] = new JsonObject { ["ndcg_at_10"] = Math.Round(ndcg, 4), ["recall_at_100"] = Math.Round(recall, 4), ["queries_per_second"] = Math.Round(qps, 1) };
        }

        var gap = report["dense_int8_prefetch_rescored"]!["ndcg_at_10"]!.GetValue<double>() - report["dense_full_precision"]!["ndcg_at_10"]!.GetValue<double>();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"int8 prefetch + rescore vs full precision: nDCG@10 {gap:+0.0000;-0.0000}"));
        if (args.String("--out") is { } output)
        {
            await File.WriteAllTextAsync(output, report.ToJsonString(new JsonSerializerOptions { WriteIndented = true })).ConfigureAwait(false);
            Console.Error.WriteLine($"bench beir: wrote {output}");
        }

        return 0;
    }

    private static JsonObject Doc(string text, string model, JsonObject? options = null)
    {
        var doc = new JsonObject { ["text"] = text, ["model"] = model };
        if (options is not null)
            doc["options"] = options.DeepClone();
        return doc;
    }

    private static JsonObject Search(JsonObject query, string vector) => new() { ["query"] = query, ["using"] = vector, ["limit"] = 100 };

    private static JsonObject With(JsonObject body, string key, JsonNode value)
    {
        body[key] = value;
        return body;
    }

    /// <summary>Creates the collection (dense with int8 codes, BM25 sparse with IDF) and loads the corpus as text.</summary>
    private static async Task<JsonObject> UploadAsync(HttpClient http, string collection, List<Document> corpus, int batch, JsonObject bm25Options)
    {
        using (var _ = await http.DeleteAsync(new Uri($"/collections/{collection}", UriKind.Relative)).ConfigureAwait(false))
        {
        }

        var create = new JsonObject
        {
            ["vectors"] = new JsonObject { ["dense"] = new JsonObject { ["size"] = 384, ["distance"] = "Cosine" } },
            ["sparse_vectors"] = new JsonObject { ["bm25"] = new JsonObject { ["modifier"] = "idf" } },
            ["quantization_config"] = new JsonObject { ["scalar"] = new JsonObject { ["type"] = "int8", ["always_ram"] = true } },
            // Searched through the graph (and its int8 codes) even at this size: below full_scan_threshold a segment
            // is scanned exactly at full precision, and the first stage would not be quantized at all.
            ["hnsw_config"] = new JsonObject { ["full_scan_threshold"] = 0 },
            // Loaded without indexing, then indexed as one sealed segment (graph and int8 codes, below): the
            // quantized first stage then really runs on codes. Indexed as points arrive, a segment this small would
            // stay appendable, searched at full precision.
            ["optimizers_config"] = new JsonObject { ["indexing_threshold"] = 0 },
        };
        await SendAsync(http, HttpMethod.Put, $"/collections/{collection}", create).ConfigureAwait(false);

        var started = Stopwatch.GetTimestamp();
        for (var from = 0; from < corpus.Count; from += batch)
        {
            var points = new JsonArray();
            for (var i = from; i < Math.Min(corpus.Count, from + batch); i++)
            {
                points.Add(new JsonObject
                {
                    ["id"] = i,
                    ["vector"] = new JsonObject { ["dense"] = Doc(corpus[i].Text, DenseModel), ["bm25"] = Doc(corpus[i].Text, "qdrant/bm25", bm25Options) },
                    ["payload"] = new JsonObject { ["doc_id"] = corpus[i].Id },
                });
            }

            await SendAsync(http, HttpMethod.Put, $"/collections/{collection}/points?wait=true", new JsonObject { ["points"] = points }).ConfigureAwait(false);
            var done = Math.Min(corpus.Count, from + batch);
            var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            var rate = done / seconds;
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bench beir: loaded {done:N0}/{corpus.Count:N0} documents, {rate:F1} documents/s, about {(corpus.Count - done) / rate:F0} s left"));
        }

        var total = Stopwatch.GetElapsedTime(started).TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ingest: {corpus.Count:N0} documents embedded (dense + BM25) and stored in {total:F1} s: {corpus.Count / total:F1} documents/s on {Environment.ProcessorCount} cores"));
        await SendAsync(http, HttpMethod.Patch, $"/collections/{collection}", new JsonObject { ["optimizers_config"] = new JsonObject { ["indexing_threshold"] = 1000 } }).ConfigureAwait(false);
        Console.Error.WriteLine("bench beir: indexing (HNSW graph and int8 codes)");
        var indexed = false;
        for (var i = 0; i < 1200 && !indexed; i++)
        {
            await Task.Delay(500).ConfigureAwait(false);
            using var response = await http.GetAsync(new Uri($"/collections/{collection}", UriKind.Relative)).ConfigureAwait(false);
            var info = JsonNode.Parse(await response.Content.ReadAsStringAsync().ConfigureAwait(false))?["result"];
            indexed = info?["status"]?.GetValue<string>() == "green" && info["indexed_vectors_count"]?.GetValue<long>() >= corpus.Count;
        }

        if (!indexed)
            throw new InvalidOperationException($"collection {collection} was not indexed within 10 minutes");

        return new JsonObject { ["documents"] = corpus.Count, ["seconds"] = Math.Round(total, 1), ["documents_per_second"] = Math.Round(corpus.Count / total, 1), ["cores"] = Environment.ProcessorCount };
    }

    private static async Task<(double Ndcg, double Recall, double Qps)> EvaluateAsync(
        HttpClient http, string collection, List<string> evaluated, Dictionary<string, string> queries, Dictionary<string, HashSet<string>> qrels, List<Document> corpus, Func<string, JsonObject> body)
    {
        double ndcg = 0, recall = 0;
        var started = Stopwatch.GetTimestamp();
        foreach (var qid in evaluated)
        {
            var result = await SendAsync(http, HttpMethod.Post, $"/collections/{collection}/points/query", body(queries[qid])).ConfigureAwait(false);
            var ranked = result["result"]!["points"]!.AsArray().Select(p => corpus[p!["id"]!.GetValue<int>()].Id).ToList();
            var relevant = qrels[qid];
            ndcg += Ndcg(ranked, relevant, 10);
            recall += (double)ranked.Take(100).Count(relevant.Contains) / relevant.Count;
        }

        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        return (ndcg / evaluated.Count, recall / evaluated.Count, evaluated.Count / seconds);
    }

    /// <summary>nDCG@k with binary relevance (every SciFact judgment is 1), as BEIR computes it.</summary>
    internal static double Ndcg(IReadOnlyList<string> ranked, HashSet<string> relevant, int k)
    {
        double dcg = 0, ideal = 0;
        for (var i = 0; i < Math.Min(k, ranked.Count); i++)
        {
            if (relevant.Contains(ranked[i]))
                dcg += 1 / Math.Log2(i + 2);
        }

        for (var i = 0; i < Math.Min(k, relevant.Count); i++)
            ideal += 1 / Math.Log2(i + 2);
        return ideal == 0 ? 0 : dcg / ideal;
    }

    private static async Task<JsonNode> SendAsync(HttpClient http, HttpMethod method, string path, JsonObject body)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative)) { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
        using var response = await http.SendAsync(request).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"{method} {path}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!;
    }

    /// <summary>The mean BM25 document length: tokens after stop words, counted by the same encoder the server uses.</summary>
    private static double MeanTokens(List<Document> corpus)
    {
        var encoder = new Quiver.Inference.Bm25Encoder();
        return corpus.Average(d => encoder.TokenCount(d.Text));
    }

    private static List<Document> ReadCorpus(string path)
    {
        var result = new List<Document>();
        foreach (var line in File.ReadLines(path))
        {
            if (line.Length == 0)
                continue;
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            // BEIR embeds documents as title + " " + text.
            var title = root.TryGetProperty("title", out var t) ? t.GetString() ?? string.Empty : string.Empty;
            result.Add(new Document(root.GetProperty("_id").GetString()!, (title + " " + root.GetProperty("text").GetString()).Trim()));
        }

        return result;
    }

    private static Dictionary<string, string> ReadQueries(string path)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines(path))
        {
            if (line.Length == 0)
                continue;
            using var doc = JsonDocument.Parse(line);
            result[doc.RootElement.GetProperty("_id").GetString()!] = doc.RootElement.GetProperty("text").GetString()!;
        }

        return result;
    }

    private static Dictionary<string, HashSet<string>> ReadQrels(string path)
    {
        var result = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines(path).Skip(1))
        {
            var parts = line.Split('\t');
            if (parts.Length < 3 || !int.TryParse(parts[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out var score) || score <= 0)
                continue;
            if (!result.TryGetValue(parts[0], out var docs))
                result[parts[0]] = docs = new HashSet<string>(StringComparer.Ordinal);
            docs.Add(parts[1]);
        }

        return result;
    }
}
