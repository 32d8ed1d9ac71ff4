using Quiver.Index.Internal;
using Quiver.Kernels;

namespace Quiver.Index.Hnsw;

public sealed partial class HnswGraph
{
    /// <summary>
    /// State shared by the insertion workers of one build or extension: the next row to insert (rows
    /// <paramref name="first"/> to <paramref name="end"/> - 1, those <paramref name="include"/> accepts), locks and
    /// progress.
    /// </summary>
    private sealed class BuildState(HnswGraph graph, ReadOnlyMemory<float> vectors, int first, int end, int[] locks, HnswBuildOptions options, IProgress<int>? progress, CancellationToken ct, Func<int, bool>? include = null)
    {
        private int _next = first;
        private int _done = first;

        public int[] Locks => locks;

        public HnswBuildOptions Options => options;

        /// <summary>Guards the entry point and the top level.</summary>
        public Lock EntryLock { get; } = new();

        public int EfConstruct => options.EfConstruct;

        public CancellationToken Cancellation => ct;

        /// <summary>Inserts rows taken from a shared counter until none are left.</summary>
        public void Work<TKernel>()
            where TKernel : struct, IScoreKernel
        {
            // The thread's own scratch: an appendable graph is extended every few milliseconds, and a fresh
            // visited set per call would allocate Capacity marks each time.
            var scratch = SearchScratch.ForCurrentThread();
            var pool = new ScoredId[Math.Max(options.EfConstruct, 1) + 1];
            var chosen = new ScoredId[graph._m];
            var all = vectors.Span;
            while (true)
            {
                var q = Interlocked.Increment(ref _next) - 1;
                if (q >= end)
                {
                    return;
                }

                ct.ThrowIfCancellationRequested();
                if (include is null || include(q))
                    graph.Insert<TKernel>(q, all, this, scratch, pool, chosen);
                var done = Interlocked.Increment(ref _done);
                if (progress is not null && done % ProgressInterval == 0)
                {
                    progress.Report(done);
                }
            }
        }
    }
}
