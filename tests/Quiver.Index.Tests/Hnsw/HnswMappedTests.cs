using Quiver.Index.Hnsw;
using Quiver.Kernels;

namespace Quiver.Index.Tests.Hnsw;

/// <summary>A graph whose link lists stay in its file (hnsw_config.on_disk) answers as the one read into memory.</summary>
public sealed class HnswMappedTests(GloveFixture glove) : IClassFixture<GloveFixture>, IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"quiver-mapped-{Guid.NewGuid():N}.hnsw");

    public void Dispose() => File.Delete(_path);

    /// <summary>The graph after a prefix of <paramref name="offset"/> bytes, as a checksummed file holds its body.</summary>
    private long Write(HnswGraph graph, int offset)
    {
        using var file = File.Create(_path);
        file.Write(new byte[offset]);
        graph.WriteTo(file);
        return file.Length - offset;
    }

    [Fact]
    public void A_mapped_graph_returns_the_same_results_and_holds_no_links_in_memory()
    {
        var graph = glove.Graph;
        var length = Write(graph, 24);
        var mapped = HnswGraph.OpenMapped(_path, 24, length);
        Assert.True(mapped.IsMapped);
        Assert.False(graph.IsMapped);
        Assert.Equal(graph.Count, mapped.Count);
        Assert.Equal(graph.EntryPoint, mapped.EntryPoint);
        Assert.Equal(graph.MaxLevel, mapped.MaxLevel);
        Assert.True(mapped.MemoryBytes < graph.MemoryBytes / 5, $"mapped {mapped.MemoryBytes} B vs {graph.MemoryBytes} B in memory");

        var expected = new ScoredId[10];
        var actual = new ScoredId[10];
        for (var q = 0; q < 100; q++)
        {
            var query = glove.Queries.AsSpan(q * glove.Dim, glove.Dim);
            var n = graph.Search<DotKernel>(query, glove.Data, 10, 64, null, expected);
            Assert.Equal(n, mapped.Search<DotKernel>(query, glove.Data, 10, 64, null, actual));
            Assert.Equal(expected[..n], actual[..n]);
        }
    }

    [Fact]
    public void A_truncated_or_damaged_mapping_is_refused()
    {
        var length = Write(glove.Graph, 0);
        Assert.Throws<InvalidDataException>(() => HnswGraph.OpenMapped(_path, 0, length - 4));
        Assert.Throws<InvalidDataException>(() => HnswGraph.OpenMapped(_path, 4, length - 4));

        // A link to a node that does not exist.
        var bytes = File.ReadAllBytes(_path);
        var count = BitConverter.ToInt32(bytes, 8);
        BitConverter.GetBytes(count + 5).CopyTo(bytes, 28 + count + 4);
        File.WriteAllBytes(_path, bytes);
        Assert.Throws<InvalidDataException>(() => HnswGraph.OpenMapped(_path, 0, length));
    }
}
