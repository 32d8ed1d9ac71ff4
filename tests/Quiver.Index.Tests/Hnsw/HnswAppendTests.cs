using Quiver.Index.Hnsw;
using Quiver.Kernels;
using Xunit.Abstractions;

namespace Quiver.Index.Tests.Hnsw;

/// <summary>An appendable graph extended batch by batch, as a live-indexed segment does, while searches run.</summary>
public sealed class HnswAppendTests(GloveFixture glove, ITestOutputHelper output) : IClassFixture<GloveFixture>
{
    private static readonly HnswBuildOptions Options = new() { M = 16, EfConstruct = 100, Threads = 2 };

    [Fact]
    public void Extending_in_batches_reaches_the_built_graphs_recall()
    {
        var graph = HnswGraph.CreateAppendable(glove.Dim, 16, GloveFixture.Rows + 1000);
        // Small batches (linked on the calling thread) and a large one (parallel workers).
        var end = 0;
        foreach (var batch in new[] { 1, 49, 950, 5000, 7, 14_000 - 7 })
        {
            end += batch;
            Assert.Equal(end, graph.Extend<DotKernel>(glove.Data, end, Options));
            Assert.Equal(end, graph.Count);
        }

        Assert.Equal(GloveFixture.Rows, graph.Count);
        var recall = TestData.Recall<DotKernel>(graph, glove.Data, glove.Queries, glove.Dim, 10, 64);
        output.WriteLine($"glove 20k appended in 6 batches, ef=64 recall@10 = {recall:F4}");
        Assert.True(recall >= 0.985, $"recall {recall:F4}"); // measured 0.9960

        // Written and read back like a built graph: the linked prefix, with the same answers.
        using var stream = new MemoryStream();
        graph.WriteTo(stream);
        stream.Position = 0;
        var loaded = HnswGraph.ReadFrom(stream);
        Assert.Equal(GloveFixture.Rows, loaded.Count);
        Assert.Equal(recall, TestData.Recall<DotKernel>(loaded, glove.Data, glove.Queries, glove.Dim, 10, 64));
    }

    [Fact]
    public void A_graph_whose_extension_stopped_part_way_writes_only_its_published_nodes()
    {
        var graph = HnswGraph.CreateAppendable(glove.Dim, 16, GloveFixture.Rows);
        graph.Extend<DotKernel>(glove.Data, 2000, Options);
        using var stop = new CancellationTokenSource();
        // One worker links rows 2000..3000 into earlier nodes' lists, then the extension is cancelled.
        Assert.ThrowsAny<OperationCanceledException>(() => graph.Extend<DotKernel>(
            glove.Data, 6000, Options with { Threads = 1 }, null, stop.Token, row =>
            {
                if (row == 3000)
                    stop.Cancel();
                return true;
            }));
        Assert.Equal(2000, graph.Count);

        using var stream = new MemoryStream();
        graph.WriteTo(stream);
        stream.Position = 0;
        var loaded = HnswGraph.ReadFrom(stream);
        Assert.Equal(2000, loaded.Count);
        var recall = TestData.Recall<DotKernel>(loaded, glove.Data[..(2000 * glove.Dim)], glove.Queries, glove.Dim, 10, 64);
        Assert.True(recall > 0, "the written graph answers queries");

        // Resumed from the written graph, linking picks up at row 2000; a packed copy resumes the same way.
        var resumed = HnswGraph.CreateAppendable(loaded, GloveFixture.Rows);
        var packed = loaded.Packed();
        Assert.True(packed.IsPacked);
        var resumedFromPacked = HnswGraph.CreateAppendable(packed, GloveFixture.Rows);
        for (var node = 0; node < 2000; node++)
            Assert.Equal(resumed.Neighbors(node, 0).ToArray(), resumedFromPacked.Neighbors(node, 0).ToArray());
        Assert.Equal(6000, resumed.Extend<DotKernel>(glove.Data, 6000, Options));
        Assert.Equal(6000, resumedFromPacked.Extend<DotKernel>(glove.Data, 6000, Options));
        var resumedRecall = TestData.Recall<DotKernel>(resumedFromPacked, glove.Data[..(6000 * glove.Dim)], glove.Queries, glove.Dim, 10, 64);
        Assert.True(resumedRecall > 0.9, $"recall {resumedRecall:F3} of the graph resumed from a packed one");
    }

    [Fact]
    public void Graphs_with_unlinked_high_nodes_or_no_entry_still_write_readable_files()
    {
        var levels = HnswGraph.GenerateLevels(GloveFixture.Rows, 16, 42);
        var high = Array.FindIndex(levels, 1, l => l >= 2);

        // The first node to reach level 2 is left out (deleted, or without the vector): its drawn level is above
        // every linked node's.
        var skipping = HnswGraph.CreateAppendable(glove.Dim, 16, GloveFixture.Rows);
        skipping.Extend<DotKernel>(glove.Data, high + 200, Options, null, default, row => row != high);
        var loaded = RoundTrip(skipping);
        Assert.Equal(high + 200, loaded.Count);
        Assert.NotEqual(high, loaded.EntryPoint);

        // Nothing linked at all: nodes but no entry, and linking resumes from scratch after reading.
        var empty = HnswGraph.CreateAppendable(glove.Dim, 16, 1000);
        empty.Extend<DotKernel>(glove.Data, 300, Options, null, default, _ => false);
        var read = RoundTrip(empty);
        Assert.Equal(300, read.Count);
        Assert.Equal(-1, read.EntryPoint);
        var resumed = HnswGraph.CreateAppendable(read, 1000);
        Assert.Equal(800, resumed.Extend<DotKernel>(glove.Data, 800, Options));
        Assert.InRange(resumed.EntryPoint, 300, 799);

        // Cancelled right after linking a node that became the entry: the file's entry is a node below its count.
        var stopped = HnswGraph.CreateAppendable(glove.Dim, 16, GloveFixture.Rows);
        stopped.Extend<DotKernel>(glove.Data, 100, Options);
        var next = Array.FindIndex(levels, 100, l => l > stopped.MaxLevel);
        using var stop = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() => stopped.Extend<DotKernel>(
            glove.Data, next + 100, Options with { Threads = 1 }, null, stop.Token, row =>
            {
                if (row == next)
                    stop.Cancel();
                return true;
            }));
        Assert.Equal(next, stopped.EntryPoint);
        var afterStop = RoundTrip(stopped);
        Assert.Equal(100, afterStop.Count);
        Assert.InRange(afterStop.EntryPoint, 0, 99);

        // And extending the stopped graph again starts from an entry it has linked.
        Assert.Equal(next + 100, stopped.Extend<DotKernel>(glove.Data, next + 100, Options));
        Assert.True(TestData.Recall<DotKernel>(RoundTrip(stopped), glove.Data[..((next + 100) * glove.Dim)], glove.Queries, glove.Dim, 10, 64) > 0.9);
    }

    private static HnswGraph RoundTrip(HnswGraph graph)
    {
        using var stream = new MemoryStream();
        graph.WriteTo(stream);
        stream.Position = 0;
        return HnswGraph.ReadFrom(stream);
    }

    [Fact]
    public async Task Searches_during_extension_only_return_rows_they_were_given()
    {
        var graph = HnswGraph.CreateAppendable(glove.Dim, 16, GloveFixture.Rows);
        graph.Extend<DotKernel>(glove.Data, 2000, Options);
        using var done = new CancellationTokenSource();
        var searched = 0;
        // A thread of its own, so the searches run even when the pool is busy with other tests.
        var reader = Task.Factory.StartNew(
            () =>
            {
                var results = new ScoredId[10];
                var q = 0;
                while (!done.IsCancellationRequested)
                {
                    var query = glove.Queries.AsSpan((q++ % 200) * glove.Dim, glove.Dim);
                    var found = graph.Search<DotKernel>(query, glove.Data.AsSpan(0, GloveFixture.Rows * glove.Dim), 10, 32, null, results);
                    Assert.InRange(found, 1, 10);
                    for (var i = 0; i < found; i++)
                        Assert.InRange(results[i].Id, 0, GloveFixture.Rows - 1);
                    Interlocked.Increment(ref searched);
                }
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);

        // Each extension starts only once a search has run since the previous one, so they interleave.
        var interleaved = 0;
        for (var end = 2100; end <= GloveFixture.Rows; end += 100)
        {
            var seen = Volatile.Read(ref searched);
            var wait = System.Diagnostics.Stopwatch.StartNew();
            while (Volatile.Read(ref searched) == seen && wait.Elapsed < TimeSpan.FromSeconds(5) && !reader.IsCompleted)
                Thread.Yield();
            if (Volatile.Read(ref searched) > seen)
                interleaved++;
            graph.Extend<DotKernel>(glove.Data, end, Options with { Threads = 1 });
        }

        done.Cancel();
        await reader;
        output.WriteLine($"{searched} searches ran during 180 extensions; {interleaved} extensions followed a fresh search");
        Assert.Equal(180, interleaved);
        Assert.True(TestData.Recall<DotKernel>(graph, glove.Data, glove.Queries, glove.Dim, 10, 64) >= 0.985);
    }

    [Fact]
    public void Rows_left_out_are_never_reached_even_the_first_ones()
    {
        var graph = HnswGraph.CreateAppendable(glove.Dim, 16, GloveFixture.Rows);
        // The first 100 rows and every 4th row after are left out: the entry point is the first row kept.
        static bool Keep(int row) => row >= 100 && row % 4 != 0;
        graph.Extend<DotKernel>(glove.Data, 50, Options, include: Keep);
        Assert.Equal(-1, graph.EntryPoint);
        graph.Extend<DotKernel>(glove.Data, 102, Options, include: Keep);
        Assert.Equal(101, graph.EntryPoint);
        graph.Extend<DotKernel>(glove.Data, 5000, Options, include: Keep);
        Assert.True(Keep(graph.EntryPoint));
        graph.Extend<DotKernel>(glove.Data, GloveFixture.Rows, Options, include: Keep);
        var results = new ScoredId[10];
        for (var q = 0; q < 200; q++)
        {
            var found = graph.Search<DotKernel>(glove.Queries.AsSpan(q * glove.Dim, glove.Dim), glove.Data, 10, 64, null, results);
            Assert.Equal(10, found);
            Assert.All(results, r => Assert.True(Keep(r.Id), $"row {r.Id} was left out"));
        }

        Assert.True(TestData.Recall<DotKernel>(graph, glove.Data, glove.Queries, glove.Dim, 10, 64, Keep) >= 0.985);
    }

    [Fact]
    public void A_built_graph_cannot_be_extended_and_capacity_bounds_an_extension()
    {
        var built = HnswGraph.Build<DotKernel>(glove.Data, glove.Dim, 100, Options);
        Assert.Throws<InvalidOperationException>(() => built.Extend<DotKernel>(glove.Data, 200, Options));

        var small = HnswGraph.CreateAppendable(glove.Dim, 16, 300);
        Assert.Equal(300, small.Extend<DotKernel>(glove.Data, 1000, Options));
        Assert.Equal(300, small.Capacity);
        Assert.Throws<ArgumentException>(() => HnswGraph.CreateAppendable(glove.Dim, 16, 10).Extend<DotKernel>(glove.Data.AsSpan(0, 5 * glove.Dim).ToArray(), 10, Options));
    }
}
