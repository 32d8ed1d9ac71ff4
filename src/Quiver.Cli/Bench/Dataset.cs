using System.Runtime.InteropServices;
using System.Text.Json;

namespace Quiver.Cli.Bench;

/// <summary>
/// A dataset in the shared layout (../shared/data/README.md): dataset.json plus big-ann-benchmarks binaries
/// (int32 count, int32 dim, row-major values; .fbin float32, .u8bin uint8, .ibin int32).
/// </summary>
internal sealed class Dataset
{
    public required string Name { get; init; }

    /// <summary>"angular" or "euclidean".</summary>
    public required string Metric { get; init; }

    public required int Dim { get; init; }

    /// <summary>The base vectors; empty when loaded without them (<see cref="Load"/>'s withBase false).</summary>
    public required float[][] Base { get; set; }

    /// <summary>How many base vectors the dataset has (loaded or not).</summary>
    public required int BaseCount { get; init; }

    public required float[][] Queries { get; init; }

    /// <summary>Ground-truth neighbour ids per query (row indices into Base), nearest first; null when absent.</summary>
    public int[][]? TruthIds { get; init; }

    public float[][]? TruthDistances { get; init; }

    public byte[]? BaseLabels { get; init; }

    public byte[]? QueryLabels { get; init; }

    /// <summary>
    /// Reads the dataset; without <paramref name="withBase"/> only the queries, ground truth and labels (a run that
    /// searches a collection built earlier).
    /// </summary>
    public static Dataset Load(string dir, int? limit, int queries, bool withBase = true)
    {
        using var meta = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, "dataset.json")));
        var root = meta.RootElement;
        var metric = root.GetProperty("metric").GetString() ?? throw new InvalidDataException("dataset.json: metric missing");
        var baseFile = root.GetProperty("base").GetProperty("file").GetString()!;
        var queryFile = root.GetProperty("query").GetProperty("file").GetString()!;
        var baseCount = RowCount(Path.Combine(dir, baseFile));
        var rowCount = limit is { } l && l < baseCount ? l : baseCount;
        var rows = withBase ? ReadRows(Path.Combine(dir, baseFile), rowCount) : [];
        var query = ReadRows(Path.Combine(dir, queryFile), queries);
        int[][]? ids = null;
        float[][]? distances = null;
        // The shipped ground truth covers the whole base set; a limited run computes its own.
        if (rowCount == baseCount && root.TryGetProperty("groundtruth", out var gt))
        {
            ids = ReadInts(Path.Combine(dir, gt.GetProperty("ids").GetString()!), query.Length);
            distances = ReadRows(Path.Combine(dir, gt.GetProperty("distances").GetString()!), query.Length);
        }

        var labels = Path.Combine(dir, "base.labels.u8");
        var queryLabels = Path.Combine(dir, "query.labels.u8");
        return new Dataset
        {
            Name = root.TryGetProperty("name", out var n) ? n.GetString()! : Path.GetFileName(dir),
            Metric = metric,
            Dim = query[0].Length,
            Base = rows,
            BaseCount = rowCount,
            Queries = query,
            TruthIds = ids,
            TruthDistances = distances,
            BaseLabels = File.Exists(labels) ? File.ReadAllBytes(labels)[..rowCount] : null,
            QueryLabels = File.Exists(queryLabels) ? File.ReadAllBytes(queryLabels)[..query.Length] : null,
        };
    }

    /// <summary>Lets the base vectors go once they are loaded elsewhere (the count stays).</summary>
    public void DropBase() => Base = [];

    /// <summary>Reads up to <paramref name="max"/> rows of a .fbin or .u8bin file as floats.</summary>
    public static float[][] ReadRows(string path, int max)
    {
        using var fs = File.OpenRead(path);
        var (count, dim) = Header(fs, path);
        var n = Math.Min(count, max);
        var rows = new float[n][];
        var bytes = path.EndsWith(".u8bin", StringComparison.Ordinal) ? new byte[dim] : null;
        for (var i = 0; i < n; i++)
        {
            rows[i] = new float[dim];
            if (bytes is null)
            {
                fs.ReadExactly(MemoryMarshal.AsBytes(rows[i].AsSpan()));
            }
            else
            {
                fs.ReadExactly(bytes);
                for (var d = 0; d < dim; d++)
                    rows[i][d] = bytes[d];
            }
        }

        return rows;
    }

    private static int RowCount(string path)
    {
        using var fs = File.OpenRead(path);
        return Header(fs, path).Count;
    }

    private static int[][] ReadInts(string path, int max)
    {
        using var fs = File.OpenRead(path);
        var (count, dim) = Header(fs, path);
        var rows = new int[Math.Min(count, max)][];
        for (var i = 0; i < rows.Length; i++)
        {
            rows[i] = new int[dim];
            fs.ReadExactly(MemoryMarshal.AsBytes(rows[i].AsSpan()));
        }

        return rows;
    }

    private static (int Count, int Dim) Header(FileStream fs, string path)
    {
        Span<byte> header = stackalloc byte[8];
        fs.ReadExactly(header);
        var count = BitConverter.ToInt32(header[..4]);
        var dim = BitConverter.ToInt32(header[4..]);
        if (count <= 0 || dim <= 0)
            throw new InvalidDataException($"{path}: bad header ({count} x {dim})");
        return (count, dim);
    }
}
