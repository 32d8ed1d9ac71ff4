#pragma warning disable IDE0060 // temporary stand-in
using Quiver.Kernels;

namespace Quiver.Index.Hnsw;

// TEMPORARY stand-in with the agreed API (exact search), replaced by the real graph when it lands.
public sealed partial class HnswGraph
{
    private HnswGraph(int count, int m)
    {
        Count = count;
        M = m;
    }

    public int Count { get; }

    public int M { get; }

    public long MemoryBytes => 0;

    public static HnswGraph Build<TKernel>(ReadOnlyMemory<float> vectors, int dim, int count, HnswBuildOptions options, IProgress<int>? progress = null, CancellationToken ct = default)
        where TKernel : struct, IScoreKernel => new(count, options.M);

    public int Search<TKernel>(ReadOnlySpan<float> query, ReadOnlySpan<float> vectors, int k, int ef, IGraphFilter? filter, Span<ScoredId> results, CancellationToken ct = default)
        where TKernel : struct, IScoreKernel
    {
        var topK = new TopK(k);
        var dim = query.Length;
        for (var i = 0; i < Count; i++)
        {
            if (filter is null || filter.Accept(i))
                topK.TryAdd(TKernel.Score(query, vectors.Slice(i * dim, dim)), i);
        }

        return topK.DrainSortedDescending(results);
    }

    public void WriteTo(Stream stream)
    {
        using var w = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        w.Write(Count);
        w.Write(M);
    }

    public static HnswGraph ReadFrom(Stream stream)
    {
        using var r = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        return new HnswGraph(r.ReadInt32(), r.ReadInt32());
    }
}
