using System.Runtime.InteropServices;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using Quiver.Engine.Catalog;
using Quiver.Engine.Collections;
using Quiver.Engine.Operations;
using Quiver.Engine.Query;
using Quiver.Index.Hnsw;
using Quiver.Kernels;
using Quiver.Segment.Payloads;
using Quiver.Segment.Points;
using Quiver.Segment.Segments;

namespace Quiver.Benchmarks.Engine;

/// <summary>
/// What the engine adds on top of the graph walk: the same HNSW graph (and the same vector memory) searched
/// directly with <see cref="HnswGraph.Search{TKernel}"/>, then with the result records a caller gets, through
/// <see cref="PointSegment.Search(int, ReadOnlySpan{float}, Segment.Filtering.Filter?, int, float?, SegmentSearchParams, CancellationToken)"/>,
/// and through <see cref="Collection.Search"/>: one shard with one indexed segment, a plain nearest query, limit
/// 10, no payload, vectors or filter. Each operation is one query; an invocation runs every query once, so all
/// cases average over the same queries.
/// </summary>
/// <remarks>
/// Data: the first 20,000 GloVe-100 base vectors and 500 query vectors from shared/data/glove-100-angular
/// (override the folder with QUIVER_BENCH_DATA); Cosine, M=16, ef_construct=100, built on one thread (so every process walks the same graph), and a full_scan_threshold low
/// enough that the graph is always used. Setup loads and indexes the collection (about 10 s per case).
/// Run: <c>dotnet run -c Release --project bench/Quiver.Benchmarks -- --filter '*SearchOverhead*' --warmupCount 3 --iterationCount 10</c>.
/// On a shared machine the paired harness (<see cref="SearchOverheadHarness"/>) gives steadier overhead figures.
/// </remarks>
[MemoryDiagnoser]
public class SearchOverheadBenchmarks
{
    public const int QueryCount = Queries;

    private const int Points = 20_000;
    private const int Queries = 500;
    private const int Limit = 10;

    /// <summary>Beam width of every case; a small one leaves the engine's fixed cost a larger share.</summary>
    [Params(40)]
    public int Ef { get; set; } = 40;

    private readonly ScoredId[] _buffer = new ScoredId[Limit];
    private string _storage = string.Empty;
    private CollectionCatalog? _catalog;
    private Collection? _collection;
    private HnswGraph? _graph;
    private PointSegment? _segment;
    private float[][] _normalisedQueries = [];
    private SearchRequest[] _requests = [];

    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    private async Task SetupAsync()
    {
        var dir = Environment.GetEnvironmentVariable("QUIVER_BENCH_DATA") ?? Path.Combine(FindSharedData(), "glove-100-angular");
        var baseRows = ReadFbin(Path.Combine(dir, "base.fbin"), Points);
        var queries = ReadFbin(Path.Combine(dir, "query.fbin"), Queries);
        _storage = Path.Combine(Path.GetTempPath(), "quiver-overhead-" + Guid.NewGuid().ToString("N"));
        _catalog = CollectionCatalog.Open(new CatalogOptions { StoragePath = _storage, Shards = new() { Fsync = false, FlushInterval = TimeSpan.FromMinutes(10) } }, NullLogger.Instance);
        // Loaded with indexing off, then switched on: one indexed segment over every point.
        using (var create = JsonDocument.Parse($$$"""{"vectors":{"size":{{{baseRows[0].Length}}},"distance":"Cosine"},"hnsw_config":{"m":16,"ef_construct":100,"max_indexing_threads":1,"full_scan_threshold":100},"optimizers_config":{"indexing_threshold":0}}"""))
            await _catalog.CreateAsync("bench", CollectionConfig.FromCreateRequest(create.RootElement), default);
        _collection = _catalog.Get("bench");
        for (var start = 0; start < baseRows.Length; start += 1000)
        {
            var points = new PointWrite[Math.Min(1000, baseRows.Length - start)];
            for (var i = 0; i < points.Length; i++)
                points[i] = new PointWrite(PointId.FromNumber((ulong)(start + i)), [new NamedVector(string.Empty, baseRows[start + i])], Payload.Empty);
            await _collection.ApplyAsync(new UpsertPoints(points), wait: true, default);
        }

        using (var patch = JsonDocument.Parse("""{"optimizers_config":{"indexing_threshold":1}}"""))
            await _catalog.UpdateAsync("bench", patch.RootElement, default);
        while (true)
        {
            var stats = _collection.Stats();
            if (!stats.Optimizing && !stats.OptimizationPending && stats.IndexedVectorsCount == Points)
                break;
            await Task.Delay(50);
        }

        _segment = _collection.Shards[0].Read(set => set.Segments.Single(s => s.Graph(0) is not null));
        _graph = _segment.Graph(0)!;
        _normalisedQueries = [.. queries.Select(q =>
        {
            var copy = (float[])q.Clone();
            VectorMath.Normalize(copy);
            return copy;
        })];
        _requests = [.. queries.Select(q => new SearchRequest(new NearestQuery(q, null), string.Empty, null, Limit, 0, null, WithPayload.None, WithVector.None, Exact: false, HnswEf: Ef))];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _catalog?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        if (Directory.Exists(_storage))
            Directory.Delete(_storage, recursive: true);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Queries)]
    public int RawGraph()
    {
        var found = 0;
        var rows = Rows();
        foreach (var q in _normalisedQueries)
            found += _graph!.Search<DotKernel>(q, rows, Limit, Ef, null, _buffer);
        return found;
    }

    /// <summary>The floor for the engine: the raw walk plus the result records a caller gets back.</summary>
    [Benchmark(OperationsPerInvoke = Queries)]
    public int RawGraphPlusRecords()
    {
        var found = 0;
        var rows = Rows();
        foreach (var q in _normalisedQueries)
        {
            var n = _graph!.Search<DotKernel>(q, rows, Limit, Ef, null, _buffer);
            var records = new ScoredRecord[n];
            for (var i = 0; i < n; i++)
                records[i] = new ScoredRecord(_segment!.IdAt(_buffer[i].Id), _segment.VersionAt(_buffer[i].Id), _buffer[i].Score, null, null);
            found += records.Length;
        }

        return found;
    }

    [Benchmark(OperationsPerInvoke = Queries)]
    public int SegmentSearch()
    {
        var found = 0;
        var parameters = new SegmentSearchParams(Ef, Exact: false, FullScanThreshold: 0);
        foreach (var q in _normalisedQueries)
            found += _segment!.Search(0, q, null, Limit, null, parameters, CancellationToken.None).Length;
        return found;
    }

    [Benchmark(OperationsPerInvoke = Queries)]
    public int CollectionSearch()
    {
        var found = 0;
        foreach (var request in _requests)
            found += _collection!.Search(request, CancellationToken.None).Count;
        return found;
    }

    // The indexed segment's own rows (frozen into huge pages), so both sides walk the same memory.
    private ReadOnlySpan<float> Rows() =>
        MemoryMarshal.CreateReadOnlySpan(ref MemoryMarshal.GetReference(_segment!.VectorAt(0, 0)), _graph!.Count * _graph.Dimension);

    private static string FindSharedData()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Quiver.slnx")))
                return Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "data"));
        }

        throw new InvalidOperationException("shared/data not found: set QUIVER_BENCH_DATA to the glove-100-angular folder");
    }

    private static float[][] ReadFbin(string path, int maxRows)
    {
        using var fs = File.OpenRead(path);
        Span<byte> header = stackalloc byte[8];
        fs.ReadExactly(header);
        var count = BitConverter.ToInt32(header[..4]);
        var dim = BitConverter.ToInt32(header[4..]);
        var rows = new float[Math.Min(count, maxRows)][];
        for (var i = 0; i < rows.Length; i++)
        {
            rows[i] = new float[dim];
            fs.ReadExactly(MemoryMarshal.AsBytes(rows[i].AsSpan()));
        }

        return rows;
    }
}
