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

    public required float[][] Base { get; init; }

    public required float[][] Queries { get; init; }

    /// <summary>Ground-truth neighbour ids per query (row indices into Base), nearest first; null when absent.</summary>
    public int[][]? TruthIds { get; init; }

    public float[][]? TruthDistances { get; init; }

    public byte[]? BaseLabels { get; init; }

    public byte[]? QueryLabels { get; init; }

    public static Dataset Load(string dir, int? limit, int queries)
    {
        using var meta = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, "dataset.json")));
        var root = meta.RootElement;
        var metric = root.GetProperty("metric").GetString() ?? throw new InvalidDataException("dataset.json: metric missing");
        var baseFile = root.GetProperty("base").GetProperty("file").GetString()!;
        var queryFile = root.GetProperty("query").GetProperty("file").GetString()!;
        var all = ReadRows(Path.Combine(dir, baseFile), int.MaxValue);
        var rows = limit is { } l && l < all.Length ? all[..l] : all;
        var query = ReadRows(Path.Combine(dir, queryFile), queries);
        int[][]? ids = null;
        float[][]? distances = null;
        // The shipped ground truth covers the whole base set; a limited run computes its own.
        if (rows.Length == all.Length && root.TryGetProperty("groundtruth", out var gt))
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
            Dim = rows[0].Length,
            Base = rows,
            Queries = query,
            TruthIds = ids,
            TruthDistances = distances,
            BaseLabels = File.Exists(labels) ? File.ReadAllBytes(labels)[..rows.Length] : null,
            QueryLabels = File.Exists(queryLabels) ? File.ReadAllBytes(queryLabels)[..query.Length] : null,
        };
    }

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
