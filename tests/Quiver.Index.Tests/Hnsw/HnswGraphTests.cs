using Quiver.Index.Hnsw;
using Quiver.Kernels;

namespace Quiver.Index.Tests.Hnsw;

public sealed class HnswGraphTests(GloveFixture glove) : IClassFixture<GloveFixture>
{
    [Fact]
    public void Round_trip_gives_identical_search_results()
    {
        // Built graphs are packed; a file is read back in the fixed layout, and packed again by whoever keeps it.
        Assert.True(glove.Graph.IsPacked);
        using var ms = new MemoryStream();
        glove.Graph.WriteTo(ms);
        ms.Position = 0;
        var copy = HnswGraph.ReadFrom(ms);
        Assert.False(copy.IsPacked);
        var repacked = copy.Packed();
        Assert.True(repacked.IsPacked);
        Assert.Equal(glove.Graph.MemoryBytes, repacked.MemoryBytes);
        using var again = new MemoryStream();
        repacked.WriteTo(again);
        Assert.Equal(ms.ToArray(), again.ToArray());
        foreach (var other in (HnswGraph[])[copy, repacked])
        {
            Assert.Equal(glove.Graph.Count, other.Count);
            Assert.Equal(glove.Graph.EntryPoint, other.EntryPoint);
            Assert.Equal(glove.Graph.MaxLevel, other.MaxLevel);
            for (var node = 0; node < other.Count; node += 97)
                Assert.Equal(glove.Graph.Neighbors(node, 0).ToArray(), other.Neighbors(node, 0).ToArray());
            var a = new ScoredId[10];
            var b = new ScoredId[10];
            var filter = new FuncFilter(i => i % 3 == 0);
            for (var q = 0; q < 50; q++)
            {
                var query = glove.Queries.AsSpan(q * glove.Dim, glove.Dim);
                var na = glove.Graph.Search<DotKernel>(query, glove.Data, 10, 40, q % 2 == 0 ? null : filter, a);
                var nb = other.Search<DotKernel>(query, glove.Data, 10, 40, q % 2 == 0 ? null : filter, b);
                Assert.Equal(na, nb);
                Assert.Equal(a.AsSpan(0, na).ToArray(), b.AsSpan(0, nb).ToArray());
            }
        }
    }

    [Fact]
    public void Search_allocates_nothing_once_warm()
    {
        var results = new ScoredId[10];
        var filter = new FuncFilter(i => (i & 7) == 0);
        void RunAll()
        {
            for (var q = 0; q < 100; q++)
            {
                var query = glove.Queries.AsSpan(q * glove.Dim, glove.Dim);
                glove.Graph.Search<DotKernel>(query, glove.Data, 10, 64, null, results);
                glove.Graph.Search<DotKernel>(query, glove.Data, 10, 64, filter, results);
            }
        }

        RunAll();
        var before = GC.GetAllocatedBytesForCurrentThread();
        RunAll();
        RunAll();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Concurrent_searches_match_sequential_ones()
    {
        const int Queries = 100;
        var expected = new ScoredId[Queries][];
        for (var q = 0; q < Queries; q++)
        {
            expected[q] = SearchOne(q);
        }

        var actual = new ScoredId[Queries][];
        Parallel.For(0, Queries * 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i => actual[i % Queries] = SearchOne(i % Queries));
        for (var q = 0; q < Queries; q++)
        {
            Assert.Equal(expected[q], actual[q]);
        }
    }

    private ScoredId[] SearchOne(int q)
    {
        var results = new ScoredId[10];
        var n = glove.Graph.Search<DotKernel>(glove.Queries.AsSpan(q * glove.Dim, glove.Dim), glove.Data, 10, 48, null, results);
        return results[..n];
    }

    [Fact]
    public void Results_are_best_first_and_distinct()
    {
        var results = new ScoredId[50];
        var query = glove.Queries.AsSpan(0, glove.Dim);
        var n = glove.Graph.Search<DotKernel>(query, glove.Data, 50, 100, null, results);
        Assert.Equal(50, n);
        for (var i = 1; i < n; i++)
        {
            Assert.True(results[i - 1].Score >= results[i].Score);
        }

        Assert.Equal(n, results.Select(r => r.Id).Distinct().Count());
        Assert.Equal(DotKernel.Score(query, glove.Data.AsSpan(results[0].Id * glove.Dim, glove.Dim)), results[0].Score);
    }

    [Fact]
    public void K_larger_than_count_returns_every_node()
    {
        var data = glove.Data.AsMemory(0, 30 * glove.Dim);
        var graph = HnswGraph.Build<DotKernel>(data, glove.Dim, 30, new HnswBuildOptions { M = 4, EfConstruct = 10 });
        var results = new ScoredId[100];
        var n = graph.Search<DotKernel>(glove.Queries.AsSpan(0, glove.Dim), data.Span, 100, 10, null, results);
        Assert.Equal(30, n);
        Assert.Equal(Enumerable.Range(0, 30), results.Take(n).Select(r => r.Id).Order());
        var truth = TestData.BruteForce<DotKernel>(glove.Queries.AsSpan(0, glove.Dim), glove.Data.AsSpan(0, 30 * glove.Dim).ToArray(), glove.Dim, 30);
        Assert.Equal(truth, results.Take(n));
    }

    [Fact]
    public void Empty_and_single_node_graphs()
    {
        var empty = HnswGraph.Build<DotKernel>(ReadOnlyMemory<float>.Empty, 4, 0, new HnswBuildOptions());
        Assert.Equal(0, empty.Count);
        Assert.Equal(-1, empty.EntryPoint);
        Assert.Equal(-1, empty.MaxLevel);
        var results = new ScoredId[5];
        Assert.Equal(0, empty.Search<DotKernel>(new float[4], ReadOnlySpan<float>.Empty, 5, 10, null, results));
        Assert.Equal(0, RoundTrip(empty).Search<DotKernel>(new float[4], ReadOnlySpan<float>.Empty, 5, 10, null, results));

        float[] one = [1, 0, 0, 0];
        var single = HnswGraph.Build<DotKernel>(one, 4, 1, new HnswBuildOptions { Threads = 2 });
        Assert.Equal(1, single.Search<DotKernel>([1, 0, 0, 0], one, 5, 10, null, results));
        Assert.Equal(new ScoredId(0, 1f), results[0]);
        Assert.Equal(0, single.Search<DotKernel>([1, 0, 0, 0], one, 0, 10, null, results));
    }

    [Fact]
    public void Invalid_arguments_are_rejected()
    {
        var graph = glove.Graph;
        var results = new ScoredId[10];
        Assert.Throws<ArgumentException>(() => graph.Search<DotKernel>(new float[3], glove.Data, 10, 10, null, results));
        Assert.Throws<ArgumentException>(() => graph.Search<DotKernel>(glove.Queries.AsSpan(0, glove.Dim), glove.Data.AsSpan(0, 10), 10, 10, null, results));
        Assert.Throws<ArgumentException>(() => graph.Search<DotKernel>(glove.Queries.AsSpan(0, glove.Dim), glove.Data, 11, 10, null, results));
        Assert.Throws<ArgumentOutOfRangeException>(() => HnswGraph.Build<DotKernel>(new float[8], 4, 2, new HnswBuildOptions { M = 1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => HnswGraph.Build<DotKernel>(new float[8], 4, 2, new HnswBuildOptions { Threads = 0 }));
        Assert.Throws<ArgumentException>(() => HnswGraph.Build<DotKernel>(new float[7], 4, 2, new HnswBuildOptions()));
    }

    [Fact]
    public void Cancellation_stops_build_and_search()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() =>
            HnswGraph.Build<DotKernel>(glove.Data.AsMemory(0, 2000 * glove.Dim), glove.Dim, 2000, new HnswBuildOptions { Threads = 2 }, ct: cts.Token));
        var results = new ScoredId[10];
        // A filter that accepts nothing forces a long walk, which must notice the token.
        Assert.ThrowsAny<OperationCanceledException>(() =>
            glove.Graph.Search<DotKernel>(glove.Queries.AsSpan(0, glove.Dim), glove.Data, 10, 64, new FuncFilter(_ => false), results, cts.Token));
    }

    [Fact]
    public void Progress_reaches_count()
    {
        var reports = new List<int>();
        var progress = new SyncProgress(reports);
        HnswGraph.Build<DotKernel>(glove.Data.AsMemory(0, 5000 * glove.Dim), glove.Dim, 5000, new HnswBuildOptions { M = 8, EfConstruct = 20 }, progress);
        Assert.Equal(5000, reports[^1]);
        Assert.Equal(reports.Order(), reports);
    }

    [Fact]
    public void Reading_bad_data_throws_InvalidDataException()
    {
        var bytes = Serialize(HnswGraph.Build<DotKernel>(glove.Data.AsMemory(0, 500 * glove.Dim), glove.Dim, 500, new HnswBuildOptions { M = 8 }));
        Assert.Throws<InvalidDataException>(() => HnswGraph.ReadFrom(new MemoryStream(bytes[..100])));
        Assert.Throws<InvalidDataException>(() => HnswGraph.ReadFrom(new MemoryStream([])));

        var badMagic = (byte[])bytes.Clone();
        badMagic[0] ^= 0xFF;
        Assert.Throws<InvalidDataException>(() => HnswGraph.ReadFrom(new MemoryStream(badMagic)));

        var badVersion = (byte[])bytes.Clone();
        badVersion[4] = 2;
        Assert.Throws<InvalidDataException>(() => HnswGraph.ReadFrom(new MemoryStream(badVersion)));

        // First level-0 link of node 0 pointing past the end.
        var badLink = (byte[])bytes.Clone();
        BitConverter.TryWriteBytes(badLink.AsSpan(28 + 500 + 4), 500);
        Assert.Throws<InvalidDataException>(() => HnswGraph.ReadFrom(new MemoryStream(badLink)));

        // Link count above 2M.
        var badCount = (byte[])bytes.Clone();
        BitConverter.TryWriteBytes(badCount.AsSpan(28 + 500), 17);
        Assert.Throws<InvalidDataException>(() => HnswGraph.ReadFrom(new MemoryStream(badCount)));

        var badEntry = (byte[])bytes.Clone();
        BitConverter.TryWriteBytes(badEntry.AsSpan(20), 500);
        Assert.Throws<InvalidDataException>(() => HnswGraph.ReadFrom(new MemoryStream(badEntry)));
    }

    private static byte[] Serialize(HnswGraph graph)
    {
        using var ms = new MemoryStream();
        graph.WriteTo(ms);
        return ms.ToArray();
    }

    private static HnswGraph RoundTrip(HnswGraph graph) => HnswGraph.ReadFrom(new MemoryStream(Serialize(graph)));

    private sealed class SyncProgress(List<int> reports) : IProgress<int>
    {
        public void Report(int value)
        {
            lock (reports)
            {
                reports.Add(value);
            }
        }
    }
}
