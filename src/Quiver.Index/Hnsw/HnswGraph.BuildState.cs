using Quiver.Index.Internal;
using Quiver.Kernels;

namespace Quiver.Index.Hnsw;

public sealed partial class HnswGraph
{
    /// <summary>State shared by the insertion workers of one build: the next row to insert, locks and progress.</summary>
    private sealed class BuildState(HnswGraph graph, ReadOnlyMemory<float> vectors, HnswBuildOptions options, IProgress<int>? progress, CancellationToken ct)
    {
        private int _next = 1; // row 0 is the initial entry point and needs no insertion
        private int _done = 1;

        public int[] Locks { get; } = new int[graph._count];

        /// <summary>Guards the entry point and the top level.</summary>
        public Lock EntryLock { get; } = new();

        public int EfConstruct => options.EfConstruct;

        public CancellationToken Cancellation => ct;

        /// <summary>Inserts rows taken from a shared counter until none are left.</summary>
        public void Work<TKernel>()
            where TKernel : struct, IScoreKernel
        {
            var scratch = new SearchScratch();
            var pool = new ScoredId[Math.Max(options.EfConstruct, 1) + 1];
            var chosen = new ScoredId[graph._m];
            var all = vectors.Span;
            var count = graph._count;
            while (true)
            {
                var q = Interlocked.Increment(ref _next) - 1;
                if (q >= count)
                {
                    return;
                }

                ct.ThrowIfCancellationRequested();
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
