using System.Runtime.InteropServices;
using Quiver.Index.Hnsw;
using Quiver.Kernels;

namespace Quiver.Index.Tests;

/// <summary>Loads slices of the shared datasets and computes exact answers.</summary>
internal static class TestData
{
    private static readonly Lazy<string> Dir = new(FindDataDir);

    public static string DataDir => Dir.Value;

    /// <summary>First <paramref name="take"/> rows of a .fbin file.</summary>
    public static float[] ReadFloats(string relative, int take, out int dim)
    {
        using var fs = File.OpenRead(Path.Combine(DataDir, relative));
        var count = ReadHeader(fs, out dim);
        var rows = Math.Min(take, count);
        var data = new float[rows * dim];
        fs.ReadExactly(MemoryMarshal.AsBytes(data.AsSpan()));
        return data;
    }

    /// <summary>First <paramref name="take"/> rows of a .u8bin file, converted to float as they are.</summary>
    public static float[] ReadBytesAsFloats(string relative, int take, out int dim)
    {
        using var fs = File.OpenRead(Path.Combine(DataDir, relative));
        var count = ReadHeader(fs, out dim);
        var rows = Math.Min(take, count);
        var bytes = new byte[rows * dim];
        fs.ReadExactly(bytes);
        var data = new float[bytes.Length];
        for (var i = 0; i < bytes.Length; i++)
        {
            data[i] = bytes[i];
        }

        return data;
    }

    public static byte[] ReadRaw(string relative, int take)
    {
        var all = File.ReadAllBytes(Path.Combine(DataDir, relative));
        return all.AsSpan(0, Math.Min(take, all.Length)).ToArray();
    }

    public static void NormalizeRows(float[] data, int dim)
    {
        for (var i = 0; i < data.Length / dim; i++)
        {
            VectorMath.Normalize(data.AsSpan(i * dim, dim));
        }
    }

    /// <summary>Exact top-k by brute force over the rows accepted by <paramref name="filter"/> (null = all).</summary>
    public static ScoredId[] BruteForce<TKernel>(ReadOnlySpan<float> query, float[] data, int dim, int k, Func<int, bool>? filter = null)
        where TKernel : struct, IScoreKernel
    {
        var top = new TopK(k);
        for (var i = 0; i < data.Length / dim; i++)
        {
            if (filter is null || filter(i))
            {
                top.TryAdd(TKernel.Score(query, data.AsSpan(i * dim, dim)), i);
            }
        }

        var result = new ScoredId[top.Count];
        top.DrainSortedDescending(result);
        return result;
    }

    /// <summary>
    /// Mean recall@k of the graph against brute force. A result counts as a hit when it is accepted and scores at
    /// least as well as the k-th true result (so ties at the boundary are not held against the graph).
    /// </summary>
    public static double Recall<TKernel>(HnswGraph graph, float[] data, float[] queries, int dim, int k, int ef, Func<int, bool>? filter = null)
        where TKernel : struct, IScoreKernel
    {
        var results = new ScoredId[k];
        var graphFilter = filter is null ? null : new FuncFilter(filter);
        long hits = 0;
        long expected = 0;
        var nq = queries.Length / dim;
        for (var q = 0; q < nq; q++)
        {
            var query = queries.AsSpan(q * dim, dim);
            var truth = BruteForce<TKernel>(query, data, dim, k, filter);
            var found = graph.Search<TKernel>(query, data, k, ef, graphFilter, results);
            expected += truth.Length;
            if (truth.Length == 0)
            {
                continue;
            }

            var bound = truth[^1].Score;
            var seen = new HashSet<int>();
            for (var i = 0; i < found; i++)
            {
                if (seen.Add(results[i].Id) && (filter is null || filter(results[i].Id)) && results[i].Score >= bound)
                {
                    hits++;
                }
            }
        }

        return expected == 0 ? 1.0 : hits / (double)expected;
    }

    private static int ReadHeader(FileStream fs, out int dim)
    {
        Span<byte> header = stackalloc byte[8];
        fs.ReadExactly(header);
        dim = BitConverter.ToInt32(header[4..]);
        return BitConverter.ToInt32(header);
    }

    private static string FindDataDir()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Quiver.slnx")))
            {
                return Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "data"));
            }
        }

        throw new DirectoryNotFoundException("No folder containing Quiver.slnx above " + AppContext.BaseDirectory);
    }
}

internal sealed class FuncFilter(Func<int, bool> accept) : IGraphFilter
{
    public bool Accept(int node) => accept(node);
}
