using Quiver.Index.Hnsw;
using Quiver.Kernels;
using Xunit.Abstractions;

namespace Quiver.Index.Tests.Hnsw;

public sealed class HnswRecallTests(GloveFixture glove, ITestOutputHelper output) : IClassFixture<GloveFixture>
{
    [Fact]
    public void Glove_single_thread_recall_at_10_with_ef_64()
    {
        var recall = TestData.Recall<DotKernel>(glove.Graph, glove.Data, glove.Queries, glove.Dim, 10, 64);
        output.WriteLine($"glove 20k threads=1 ef=64 recall@10 = {recall:F4}");
        Assert.True(recall >= 0.985, $"recall {recall:F4}"); // measured 0.996 / 0.9945 (2 threads)
    }

    [Fact]
    public void Glove_two_threads_reaches_the_same_floor()
    {
        var graph = HnswGraph.Build<DotKernel>(glove.Data, glove.Dim, GloveFixture.Rows, new HnswBuildOptions { M = 16, EfConstruct = 100, Threads = 2 });
        var recall = TestData.Recall<DotKernel>(graph, glove.Data, glove.Queries, glove.Dim, 10, 64);
        output.WriteLine($"glove 20k threads=2 ef=64 recall@10 = {recall:F4}");
        Assert.True(recall >= 0.985, $"recall {recall:F4}"); // measured 0.996 / 0.9945 (2 threads)
        Assert.Equal(GloveFixture.Rows, graph.Count);
        AssertWellFormed(graph);
    }

    [Fact]
    public void Recall_grows_with_ef()
    {
        var low = TestData.Recall<DotKernel>(glove.Graph, glove.Data, glove.Queries, glove.Dim, 10, 10);
        var high = TestData.Recall<DotKernel>(glove.Graph, glove.Data, glove.Queries, glove.Dim, 10, 200);
        output.WriteLine($"ef=10 {low:F4}, ef=200 {high:F4}");
        Assert.True(high > low);
        Assert.True(high >= 0.99, $"recall {high:F4}");
    }

    [Fact]
    public void Past_the_pool_limit_the_heap_walk_reaches_the_same_recall()
    {
        // ef up to PoolMaxEf walks on the sorted pool, past it on two heaps: the same search either way.
        var pool = TestData.Recall<DotKernel>(glove.Graph, glove.Data, glove.Queries, glove.Dim, 10, HnswGraph.PoolMaxEf);
        var heaps = TestData.Recall<DotKernel>(glove.Graph, glove.Data, glove.Queries, glove.Dim, 10, HnswGraph.PoolMaxEf + 1);
        output.WriteLine($"ef={HnswGraph.PoolMaxEf} (pool) {pool:F4}, ef={HnswGraph.PoolMaxEf + 1} (heaps) {heaps:F4}");
        Assert.True(pool >= 0.999, $"pool recall {pool:F4}");
        Assert.True(heaps >= 0.999, $"heap recall {heaps:F4}");
        Assert.True(Math.Abs(pool - heaps) <= 0.002, $"pool {pool:F4} vs heaps {heaps:F4}");
    }

    [Fact]
    public void A_build_beam_past_the_pool_limit_builds_a_good_graph()
    {
        const int rows = 3_000;
        var data = glove.Data.AsSpan(0, rows * glove.Dim).ToArray();
        var graph = HnswGraph.Build<DotKernel>(data, glove.Dim, rows, new HnswBuildOptions { M = 8, EfConstruct = HnswGraph.PoolMaxEf + 100, Threads = 2 });
        var recall = TestData.Recall<DotKernel>(graph, data, glove.Queries, glove.Dim, 10, 64);
        output.WriteLine($"glove 3k efC={HnswGraph.PoolMaxEf + 100} ef=64 recall@10 = {recall:F4}");
        Assert.True(recall >= 0.98, $"recall {recall:F4}");
        AssertWellFormed(graph);
    }

    [Fact]
    public void Single_thread_build_is_deterministic_for_a_seed()
    {
        var data = glove.Data.AsMemory(0, 3000 * glove.Dim);
        var options = new HnswBuildOptions { M = 8, EfConstruct = 40, Seed = 7 };
        var a = HnswGraph.Build<DotKernel>(data, glove.Dim, 3000, options);
        var b = HnswGraph.Build<DotKernel>(data, glove.Dim, 3000, options);
        Assert.Equal(Serialize(a), Serialize(b));
        var c = HnswGraph.Build<DotKernel>(data, glove.Dim, 3000, options with { Seed = 8 });
        Assert.NotEqual(Serialize(a), Serialize(c));
    }

    [Fact]
    public void Graph_shape_follows_the_options()
    {
        var graph = glove.Graph;
        Assert.Equal(16, graph.M);
        Assert.Equal(graph.MaxLevel, graph.LevelOf(graph.EntryPoint));
        for (var node = 0; node < graph.Count; node++)
        {
            Assert.InRange(graph.Neighbors(node, 0).Length, 1, 32);
            for (var level = 1; level <= graph.LevelOf(node); level++)
            {
                Assert.InRange(graph.Neighbors(node, level).Length, 0, 16);
            }
        }

        // A built graph's level 0 is packed: an offset per node and three bytes per link actually held.
        Assert.True(graph.IsPacked);
        long links = 0, upperSlots = 0;
        for (var node = 0; node < graph.Count; node++)
        {
            links += graph.Neighbors(node, 0).Length;
            upperSlots += graph.LevelOf(node) * (1L + graph.M);
        }

        var expected = ((graph.Count + 1L) * 4) + (3 * links) + 1 + (upperSlots * 4) + (graph.Count * 4L) + graph.Count;
        Assert.Equal(expected, graph.MemoryBytes);
        var perPoint = graph.MemoryBytes / (double)graph.Count;
        output.WriteLine($"{perPoint:F1} bytes per point ({links / (double)graph.Count:F1} links at level 0), max level {graph.MaxLevel}");
        Assert.InRange(perPoint, 4 + 3 + 4 + 1, 4 + (3 * 32) + 4 + 1 + 40);
    }

    [Fact]
    public void Single_thread_graph_is_well_formed() => AssertWellFormed(glove.Graph);

    /// <summary>No self-links, no duplicate links, and every node reachable from the entry point at level 0.</summary>
    internal static void AssertWellFormed(HnswGraph graph)
    {
        for (var node = 0; node < graph.Count; node++)
        {
            for (var level = 0; level <= graph.LevelOf(node); level++)
            {
                var links = graph.Neighbors(node, level);
                Assert.DoesNotContain(node, links.ToArray());
                Assert.Equal(links.Length, links.ToArray().Distinct().Count());
            }
        }

        var seen = new bool[graph.Count];
        var queue = new Queue<int>();
        queue.Enqueue(graph.EntryPoint);
        seen[graph.EntryPoint] = true;
        var reached = 1;
        while (queue.Count > 0)
        {
            foreach (var next in graph.Neighbors(queue.Dequeue(), 0))
            {
                if (!seen[next])
                {
                    seen[next] = true;
                    reached++;
                    queue.Enqueue(next);
                }
            }
        }

        // Heuristic pruning can drop every in-link of a few nodes (11 of 10,000 on fashion); the build re-links them.
        Assert.True(reached == graph.Count, $"{graph.Count - reached} of {graph.Count} nodes unreachable at level 0");
    }

    private static byte[] Serialize(HnswGraph graph)
    {
        using var ms = new MemoryStream();
        graph.WriteTo(ms);
        return ms.ToArray();
    }
}

public sealed class HnswFashionTests(FashionFixture fashion, ITestOutputHelper output) : IClassFixture<FashionFixture>
{
    [Fact]
    public void Fashion_l2_recall_at_10_with_ef_64()
    {
        var recall = TestData.Recall<NegSquaredL2Kernel>(fashion.Graph, fashion.Data, fashion.Queries, fashion.Dim, 10, 64);
        output.WriteLine($"fashion 10k ef=64 recall@10 = {recall:F4}");
        HnswRecallTests.AssertWellFormed(fashion.Graph);
        Assert.True(recall >= 0.99, $"recall {recall:F4}"); // measured 0.999
    }

    [Fact]
    public void Filtered_recall_at_about_10_percent_selectivity()
    {
        var labels = fashion.Labels;
        bool Filter(int i) => labels[i] == 3;
        var recall = TestData.Recall<NegSquaredL2Kernel>(fashion.Graph, fashion.Data, fashion.Queries, fashion.Dim, 10, 64, Filter);
        output.WriteLine($"fashion 10k label==3 ef=64 recall@10 = {recall:F4}");
        Assert.True(recall >= 0.98, $"recall {recall:F4}"); // measured 1.000
    }

    [Fact]
    public void Filtered_recall_at_about_1_percent_selectivity()
    {
        var labels = fashion.Labels;
        bool Filter(int i) => labels[i] == 3 && i % 10 == 4;
        var recall = TestData.Recall<NegSquaredL2Kernel>(fashion.Graph, fashion.Data, fashion.Queries, fashion.Dim, 10, 64, Filter);
        output.WriteLine($"fashion 10k label==3 && row%10==4 ef=64 recall@10 = {recall:F4}");
        Assert.True(recall >= 0.98, $"recall {recall:F4}"); // measured 1.000
    }

    [Fact]
    public void Filtered_results_hold_only_accepted_nodes_and_a_filter_rejecting_all_returns_nothing()
    {
        var results = new ScoredId[10];
        var query = fashion.Queries.AsSpan(0, fashion.Dim);
        var none = fashion.Graph.Search<NegSquaredL2Kernel>(query, fashion.Data, 10, 64, new FuncFilter(_ => false), results);
        Assert.Equal(0, none);
        var odd = fashion.Graph.Search<NegSquaredL2Kernel>(query, fashion.Data, 10, 64, new FuncFilter(i => i % 2 == 1), results);
        Assert.Equal(10, odd);
        Assert.All(results, r => Assert.Equal(1, r.Id % 2));
    }
}
