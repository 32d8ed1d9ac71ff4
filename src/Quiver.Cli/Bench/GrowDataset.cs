using System.Globalization;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Quiver.Cli.Bench;

/// <summary>
/// <c>quiver bench grow</c>: a larger dataset made from a shipped one, for runs that need more vectors than the
/// shipped sets hold (a collection several times larger than a memory limit). Copy 0 of the base set is the original;
/// each further copy adds seeded uniform noise to every value. Queries are the first Q of the original, and the
/// ground truth is computed again by exact brute force (per-lane float sums reduced in double: exact for uint8 data).
/// </summary>
internal static class GrowDataset
{
    public const string Usage = """
        Usage: quiver bench grow --data DIR --copies K --out DIR2 [options]
          --data DIR        the dataset to grow (shared/data layout)
          --copies K        base set size in copies of the original (2..100)
          --noise N         each copy after the first adds uniform noise in [-N, N] to every value (default 8;
                            clamped to 0..255 for uint8 data)
          --queries Q       queries to keep, with ground truth (default 1000)
          --seed S          noise seed (default 42)
          --out DIR2        where to write the new dataset (must not exist)
        """;

    private const int TruthK = 100;

    public static int Run(IReadOnlyList<string> argv)
    {
        var args = new BenchArgs(argv, new HashSet<string> { "--data", "--copies", "--noise", "--queries", "--seed", "--out" }, new HashSet<string>());
        var dir = args.Required("--data");
        var copies = args.Int("--copies", 2, 2);
        if (copies > 100)
            throw new ArgumentException($"--copies: expected 2 to 100, got {copies}");
        var noise = args.Double("--noise", 8);
        if (!(noise >= 0))
            throw new ArgumentException($"--noise: expected a number of 0 or more, got {noise}");
        var queryCount = args.Int("--queries", 1000);
        var seed = args.Int("--seed", 42, 0);
        var output = args.Required("--out");
        if (Directory.Exists(output) || File.Exists(output))
            throw new ArgumentException($"--out: {output} exists already");

        using var meta = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, "dataset.json")));
        var root = meta.RootElement;
        var metric = root.GetProperty("metric").GetString() ?? throw new InvalidDataException("dataset.json: metric missing");
        if (metric is not ("euclidean" or "angular"))
            throw new ArgumentException($"{dir}: metric '{metric}' is not euclidean or angular");
        var baseFile = root.GetProperty("base").GetProperty("file").GetString()!;
        var queryFile = root.GetProperty("query").GetProperty("file").GetString()!;
        var bytes = baseFile.EndsWith(".u8bin", StringComparison.Ordinal);
        var original = Dataset.ReadRows(Path.Combine(dir, baseFile), int.MaxValue);
        var queries = Dataset.ReadRows(Path.Combine(dir, queryFile), queryCount);
        var dim = original[0].Length;
        var rows = new float[(long)original.Length * copies > Array.MaxLength ? throw new ArgumentException("--copies: too many rows") : original.Length * copies][];
        var random = new Random(seed);
        for (var copy = 0; copy < copies; copy++)
        {
            for (var i = 0; i < original.Length; i++)
            {
                var row = copy == 0 ? original[i] : new float[dim];
                if (copy > 0)
                {
                    for (var d = 0; d < dim; d++)
                    {
                        var value = original[i][d] + (((random.NextDouble() * 2) - 1) * noise);
                        row[d] = bytes ? (float)Math.Clamp(Math.Round(value), 0, 255) : (float)value;
                    }
                }

                rows[(copy * original.Length) + i] = row;
            }
        }

        Directory.CreateDirectory(output);
        var extension = bytes ? ".u8bin" : ".fbin";
        WriteRows(Path.Combine(output, "base" + extension), rows, bytes);
        WriteRows(Path.Combine(output, "query" + extension), queries, bytes);
        Console.Error.WriteLine($"bench grow: wrote {rows.Length:N0} x {dim} base vectors; computing exact ground truth for {queries.Length:N0} queries");
        var (ids, distances) = GroundTruth(rows, queries, metric == "angular");
        WriteMatrix(Path.Combine(output, "gt.top100.ibin"), ids, TruthK);
        WriteMatrix(Path.Combine(output, "gt.top100.dist.fbin"), distances, TruthK);

        var baseJson = new JsonObject { ["file"] = "base" + extension, ["dtype"] = bytes ? "uint8" : "float32", ["count"] = rows.Length };
        var queryJson = new JsonObject { ["file"] = "query" + extension, ["dtype"] = bytes ? "uint8" : "float32", ["count"] = queries.Length };
        if (File.Exists(Path.Combine(dir, "base.labels.u8")) && File.Exists(Path.Combine(dir, "query.labels.u8")))
        {
            var labels = File.ReadAllBytes(Path.Combine(dir, "base.labels.u8"))[..original.Length];
            using (var file = File.Create(Path.Combine(output, "base.labels.u8")))
            {
                for (var copy = 0; copy < copies; copy++)
                    file.Write(labels);
            }

            File.WriteAllBytes(Path.Combine(output, "query.labels.u8"), File.ReadAllBytes(Path.Combine(dir, "query.labels.u8"))[..queries.Length]);
            baseJson["labels"] = "base.labels.u8";
            queryJson["labels"] = "query.labels.u8";
        }

        var name = (root.TryGetProperty("name", out var n) ? n.GetString() : Path.GetFileName(dir)) + "-x" + copies.ToString(CultureInfo.InvariantCulture);
        var json = new JsonObject
        {
            ["name"] = name,
            ["description"] = $"{copies} copies of {Path.GetFileName(Path.GetFullPath(dir))}'s base set, copies after the first with uniform noise in [-{noise}, {noise}] (seed {seed}); its first {queries.Length} queries",
            ["metric"] = metric,
            ["dim"] = dim,
            ["base"] = baseJson,
            ["query"] = queryJson,
            ["groundtruth"] = new JsonObject
            {
                ["ids"] = "gt.top100.ibin",
                ["distances"] = "gt.top100.dist.fbin",
                ["k"] = TruthK,
                ["queries"] = queries.Length,
                ["method"] = "exact brute force by quiver bench grow, ties broken by smaller base index",
            },
        };
        File.WriteAllText(Path.Combine(output, "dataset.json"), json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"bench grow: {output}: {name}, {rows.Length:N0} x {dim} ({metric}), {queries.Length:N0} queries with top-{TruthK} ground truth");
        return 0;
    }

    private static (int[][] Ids, float[][] Distances) GroundTruth(float[][] rows, float[][] queries, bool angular)
    {
        var norms = angular ? rows.Select(r => Math.Sqrt(Dot(r, r))).ToArray() : null;
        var ids = new int[queries.Length][];
        var distances = new float[queries.Length][];
        var done = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Parallel.For(0, queries.Length, q =>
        {
            var query = queries[q];
            var queryNorm = angular ? Math.Sqrt(Dot(query, query)) : 0;
            // The best TruthK so far, sorted by (distance, index): a row enters only if it beats the last.
            var bestDistance = new double[TruthK];
            var bestId = new int[TruthK];
            var filled = 0;
            for (var i = 0; i < rows.Length; i++)
            {
                var distance = angular
                    ? 1 - (Dot(query, rows[i]) / Math.Max(queryNorm * norms![i], double.Epsilon))
                    : SquaredL2(query, rows[i]);
                if (filled == TruthK && distance >= bestDistance[TruthK - 1])
                    continue;
                var at = filled < TruthK ? filled++ : TruthK - 1;
                while (at > 0 && bestDistance[at - 1] > distance)
                {
                    bestDistance[at] = bestDistance[at - 1];
                    bestId[at] = bestId[at - 1];
                    at--;
                }

                bestDistance[at] = distance;
                bestId[at] = i;
            }

            ids[q] = bestId;
            distances[q] = [.. bestDistance.Select(d => angular ? (float)d : (float)Math.Sqrt(d))];
            if (Interlocked.Increment(ref done) % 100 == 0)
                Console.Error.WriteLine($"bench grow: ground truth {done:N0}/{queries.Length:N0} ({clock.Elapsed.TotalSeconds:F0} s)");
        });
        return (ids, distances);
    }

    // Per-lane float sums stay exact for uint8 values (each lane adds at most dim / lanes squares of 255 or less);
    // the lanes are added in double.
    private static double SquaredL2(float[] a, float[] b)
    {
        var acc = Vector<float>.Zero;
        var i = 0;
        for (; i <= a.Length - Vector<float>.Count; i += Vector<float>.Count)
        {
            var d = new Vector<float>(a, i) - new Vector<float>(b, i);
            acc += d * d;
        }

        double sum = 0;
        for (var lane = 0; lane < Vector<float>.Count; lane++)
            sum += acc[lane];
        for (; i < a.Length; i++)
        {
            double d = a[i] - b[i];
            sum += d * d;
        }

        return sum;
    }

    private static double Dot(float[] a, float[] b)
    {
        double sum = 0;
        for (var i = 0; i < a.Length; i++)
            sum += (double)a[i] * b[i];
        return sum;
    }

    private static void WriteRows(string path, float[][] rows, bool bytes)
    {
        using var file = new BufferedStream(File.Create(path), 1 << 20);
        WriteHeader(file, rows.Length, rows[0].Length);
        var buffer = new byte[rows[0].Length];
        foreach (var row in rows)
        {
            if (!bytes)
            {
                file.Write(MemoryMarshal.AsBytes(row.AsSpan()));
                continue;
            }

            for (var d = 0; d < row.Length; d++)
                buffer[d] = (byte)row[d];
            file.Write(buffer);
        }
    }

    private static void WriteMatrix<T>(string path, T[][] rows, int columns)
        where T : unmanaged
    {
        using var file = new BufferedStream(File.Create(path), 1 << 20);
        WriteHeader(file, rows.Length, columns);
        foreach (var row in rows)
            file.Write(MemoryMarshal.AsBytes(row.AsSpan()));
    }

    private static void WriteHeader(Stream stream, int count, int dim)
    {
        Span<byte> header = stackalloc byte[8];
        BitConverter.TryWriteBytes(header, count);
        BitConverter.TryWriteBytes(header[4..], dim);
        stream.Write(header);
    }
}
