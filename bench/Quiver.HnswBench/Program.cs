using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Quiver.Index.Hnsw;
using Quiver.Kernels;

// Quick HNSW speed harness (not BenchmarkDotNet): builds on a whole dataset and prints recall@10 and
// single-thread QPS per ef, with the ann-benchmarks tie rule (a hit if its distance <= k-th true distance + 1e-3).
//   dotnet run -c Release --project bench/Quiver.HnswBench -- glove|fashion [threads=1] [M=16] [efC=100] [ef list, comma separated]
var dataset = args.Length > 0 ? args[0] : "glove";
var threads = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1;
var m = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 16;
var efC = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 100;
int[] efs = args.Length > 4
    ? [.. args[4].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture))]
    : [10, 16, 20, 32, 40, 64, 80, 120, 160, 240, 320];
var dataDir = FindDataDir();
var angular = dataset == "glove";
var folder = Path.Combine(dataDir, angular ? "glove-100-angular" : "fashion-mnist-784-euclidean");
float[] data, queries;
int n, dim, nq;
if (angular)
{
    data = Bin.ReadFloats(Path.Combine(folder, "base.fbin"), out n, out dim);
    queries = Bin.ReadFloats(Path.Combine(folder, "query.fbin"), out nq, out _);
    for (var i = 0; i < n; i++)
    {
        VectorMath.Normalize(data.AsSpan(i * dim, dim));
    }

    for (var i = 0; i < nq; i++)
    {
        VectorMath.Normalize(queries.AsSpan(i * dim, dim));
    }
}
else
{
    data = Bin.ReadBytesAsFloats(Path.Combine(folder, "base.u8bin"), out n, out dim);
    queries = Bin.ReadBytesAsFloats(Path.Combine(folder, "query.u8bin"), out nq, out _);
}

// QUIVER_BENCH_LIMIT=N keeps the first N base vectors (recall is then meaningless: the ground truth is the whole set's).
if (Environment.GetEnvironmentVariable("QUIVER_BENCH_LIMIT") is { } limitText)
{
    n = Math.Min(n, int.Parse(limitText, CultureInfo.InvariantCulture));
    data = data[..(n * dim)];
}

var gtDist = Bin.ReadFloats(Path.Combine(folder, "gt.top100.dist.fbin"), out _, out var gtK);
Console.WriteLine($"{dataset}: {n} x {dim}, {nq} queries, M={m} efC={efC} threads={threads}, {(System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ? "V512" : "V256")}");
var sw = Stopwatch.StartNew();
var options = new HnswBuildOptions { M = m, EfConstruct = efC, Threads = threads };
HnswGraph graph;
// QUIVER_BENCH_GRAPH=FILE keeps the built graph in FILE and reads it back on later runs (for quick A/B runs of
// search changes); QUIVER_BENCH_RUNS=N times each ef N times and keeps the fastest.
var graphFile = Environment.GetEnvironmentVariable("QUIVER_BENCH_GRAPH");
if (graphFile is not null && File.Exists(graphFile))
{
    using var stream = File.OpenRead(graphFile);
    graph = HnswGraph.ReadFrom(stream).Packed();
}
else if (Environment.GetEnvironmentVariable("QUIVER_BENCH_APPEND") == "1")
{
    // As a live segment links a bulk backlog: one extension of an appendable graph.
    graph = HnswGraph.CreateAppendable(dim, m, n + 1);
    _ = angular ? graph.Extend<DotKernel>(data, n, options) : graph.Extend<NegSquaredL2Kernel>(data, n, options);
}
else
{
    graph = angular
        ? HnswGraph.Build<DotKernel>(data, dim, n, options)
        : HnswGraph.Build<NegSquaredL2Kernel>(data, dim, n, options);
}

if (graphFile is not null && !File.Exists(graphFile))
{
    using var stream = File.Create(graphFile);
    graph.WriteTo(stream);
}

Console.WriteLine($"build {sw.Elapsed.TotalSeconds:F1} s, {graph.MemoryBytes / (double)n:F1} B/point, max level {graph.MaxLevel}");
// QUIVER_BENCH_HUGEPAGES=1 copies the vectors into 2 MiB-aligned native memory advised as huge pages before
// searching (what a segment could do for its vector storage); the graph is the same.
var hugePages = Environment.GetEnvironmentVariable("QUIVER_BENCH_HUGEPAGES") == "1";
using var native = hugePages ? new HugePageBuffer(data) : null;
Console.WriteLine(hugePages ? "vectors in huge pages (madvise)" : "vectors in a managed array");
// QUIVER_BENCH_INT8=1 walks int8 codes (quantization_config.scalar) for 2k candidates, then rescores them with the
// vectors and keeps k: the engine's int8 search with oversampling 2.
var codes = Environment.GetEnvironmentVariable("QUIVER_BENCH_INT8") == "1"
    ? Quiver.Index.Quantization.ScalarQuantizer.Train(data, dim).EncodeAll(data)
    : null;
if (codes is not null)
{
    Console.WriteLine($"int8 codes, {codes.Bytes / (double)n:F1} B/point, oversampling 2");
}

Console.WriteLine("ef\trecall@10\tQPS");
foreach (var ef in efs)
{
    var runs = int.Parse(Environment.GetEnvironmentVariable("QUIVER_BENCH_RUNS") ?? "1", CultureInfo.InvariantCulture);
    var (recall, qps) = (0d, 0d);
    for (var run = 0; run < runs; run++)
    {
        var (r, q) = Measure(graph, codes, native is null ? data : native.Span, queries, gtDist, gtK, nq, dim, ef, angular);
        (recall, qps) = (r, Math.Max(qps, q));
    }

    Console.WriteLine($"{ef}\t{recall:F4}\t{qps:F0}");

}

static (double Recall, double Qps) Measure(HnswGraph graph, Quiver.Index.Quantization.QuantizedVectors? codes, ReadOnlySpan<float> vectors, float[] queries, float[] gtDist, int gtK, int nq, int dim, int ef, bool angular)
{
    const int K = 10;
    Span<ScoredId> results = stackalloc ScoredId[2 * K];
    var hits = 0;
    var sw = new Stopwatch();

    // One untimed pass warms the JIT and caches, then the timed pass.
    for (var pass = 0; pass < 2; pass++)
    {
        hits = 0;
        sw.Restart();
        for (var q = 0; q < nq; q++)
        {
            var query = queries.AsSpan(q * dim, dim);
            int found;
            if (codes is null)
            {
                found = angular
                    ? graph.Search<DotKernel>(query, vectors, K, ef, null, results)
                    : graph.Search<NegSquaredL2Kernel>(query, vectors, K, ef, null, results);
            }
            else
            {
                found = angular
                    ? graph.SearchCodes<ByteDotKernel>(codes, query, 2 * K, ef, null, results)
                    : graph.SearchCodes<ByteNegSquaredL2Kernel>(codes, query, 2 * K, ef, null, results);
                for (var i = 0; i < found; i++)
                {
                    var row = vectors.Slice(results[i].Id * dim, dim);
                    var score = angular ? DotKernel.Score(query, row) : NegSquaredL2Kernel.Score(query, row);
                    results[i] = new ScoredId(results[i].Id, score);
                }

                results[..found].Sort(static (a, b) => b.Score.CompareTo(a.Score));
                found = Math.Min(found, K);
            }

            var limit = gtDist[(q * gtK) + K - 1] + 1e-3f;
            for (var i = 0; i < found; i++)
            {
                var d = angular ? 1f - results[i].Score : MathF.Sqrt(MathF.Max(0f, -results[i].Score));
                if (d <= limit)
                {
                    hits++;
                }
            }
        }
    }

    return (hits / (double)(nq * K), nq / sw.Elapsed.TotalSeconds);
}

static string FindDataDir()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "Quiver.slnx")))
        {
            return Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "data"));
        }
    }

    throw new DirectoryNotFoundException("No Quiver.slnx above " + AppContext.BaseDirectory);
}

internal static class Bin
{
    public static float[] ReadFloats(string path, out int count, out int dim)
    {
        using var fs = File.OpenRead(path);
        ReadHeader(fs, out count, out dim);
        var data = new float[(long)count * dim];
        fs.ReadExactly(MemoryMarshal.AsBytes(data.AsSpan()));
        return data;
    }

    public static float[] ReadBytesAsFloats(string path, out int count, out int dim)
    {
        using var fs = File.OpenRead(path);
        ReadHeader(fs, out count, out dim);
        var bytes = new byte[(long)count * dim];
        fs.ReadExactly(bytes);
        var data = new float[bytes.Length];
        for (var i = 0; i < bytes.Length; i++)
        {
            data[i] = bytes[i];
        }

        return data;
    }

    private static void ReadHeader(FileStream fs, out int count, out int dim)
    {
        Span<byte> header = stackalloc byte[8];
        fs.ReadExactly(header);
        count = BitConverter.ToInt32(header);
        dim = BitConverter.ToInt32(header[4..]);
    }
}

internal sealed unsafe partial class HugePageBuffer : IDisposable
{
    private const nuint HugePage = 2 * 1024 * 1024;
    private const int MadvHugePage = 14;
    private readonly float* _pointer;
    private readonly int _length;

    public HugePageBuffer(float[] source)
    {
        _length = source.Length;
        var bytes = ((nuint)source.Length * sizeof(float) + HugePage - 1) & ~(HugePage - 1);
        _pointer = (float*)NativeMemory.AlignedAlloc(bytes, HugePage);
        _ = Madvise((nint)_pointer, bytes, MadvHugePage);
        source.CopyTo(new Span<float>(_pointer, _length));
    }

    public ReadOnlySpan<float> Span => new(_pointer, _length);

    public void Dispose() => NativeMemory.AlignedFree(_pointer);

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(nint address, nuint length, int advice);
}
