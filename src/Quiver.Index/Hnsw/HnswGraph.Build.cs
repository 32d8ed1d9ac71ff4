using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Quiver.Index.Internal;
using Quiver.Kernels;

namespace Quiver.Index.Hnsw;

public sealed partial class HnswGraph
{
    private const int ProgressInterval = 4096;

    /// <summary>
    /// Builds a graph over <paramref name="count"/> rows of <paramref name="dim"/> floats (row-major) by inserting
    /// rows 0..count-1. With <c>Threads = 1</c> the result depends only on the input and the seed.
    /// </summary>
    /// <remarks>
    /// Insertion follows the paper: a random level <c>floor(-ln(U) / ln(M))</c>, a greedy descent through the
    /// levels above it, then at each of its levels a best-first search with ef = EfConstruct whose result is
    /// pruned to at most M links by the neighbour-selection heuristic (a candidate is kept only when it is closer
    /// to the new node than to every neighbour already kept; discarded candidates are not used to fill up, which
    /// keeps the lists diverse and short). Links are made bidirectional; a list that overflows (M above level 0,
    /// 2M at level 0) is shrunk with the same heuristic. A final pass re-links the few nodes that shrinking left
    /// unreachable at level 0 (see <c>HnswGraph.Repair.cs</c>).
    /// Threads insert rows in parallel. Each link list has its own spin lock, and a writer holds at most one of
    /// them at a time. Readers walk lists without locks: slots are plain ints written atomically, and a writer
    /// publishes the ids before the count, so a concurrent reader sees an old or new list of valid node ids, which
    /// a search tolerates. A node that raises the top level holds the entry-point lock for its whole insertion.
    /// </remarks>
    /// <exception cref="ArgumentException">The buffer is shorter than <c>count * dim</c> or an option is out of range.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled.</exception>
    public static HnswGraph Build<TKernel>(
        ReadOnlyMemory<float> vectors,
        int dim,
        int count,
        HnswBuildOptions options,
        IProgress<int>? progress = null,
        CancellationToken ct = default)
        where TKernel : struct, IScoreKernel
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(dim, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.M, 2, nameof(options));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.M, 512, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.EfConstruct, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Threads, 1, nameof(options));
        if (vectors.Length < (long)count * dim)
        {
            throw new ArgumentException($"Vectors hold {vectors.Length} floats; {count} rows of {dim} need {(long)count * dim}.", nameof(vectors));
        }

        var graph = new HnswGraph(count, dim, options.M, GenerateLevels(count, options.M, options.Seed));
        if (count == 0)
        {
            return graph;
        }

        graph._entry = PackEntry(0, graph._levels[0]);
        graph.RunInserts<TKernel>(new BuildState(graph, vectors, 1, count, new int[count], options, progress, ct), Math.Min(options.Threads, count));
        graph.ConnectUnreachable();
        progress?.Report(count);
        // A built graph never changes again: its level 0 is packed (the fixed layout is dropped with this object).
        return graph.Packed();
    }

    /// <summary>Runs a build state's insertions on <paramref name="threads"/> threads and waits for them.</summary>
    private void RunInserts<TKernel>(BuildState state, int threads)
        where TKernel : struct, IScoreKernel
    {
        var options = state.Options;
        var ct = state.Cancellation;
        if (threads <= 1)
        {
            state.Work<TKernel>();
        }
        else
        {
            var tasks = new Task[threads];
            for (var t = 0; t < threads; t++)
            {
                // LongRunning gives each worker its own thread, so lowering its priority touches nothing shared.
                tasks[t] = Task.Factory.StartNew(
                    () =>
                    {
                        if (options.Background)
                            Threading.BackgroundPriority.LowerCurrentThread();
                        state.Work<TKernel>();
                    },
                    ct,
                    TaskCreationOptions.LongRunning,
                    TaskScheduler.Default);
            }

            Task.WhenAll(tasks).GetAwaiter().GetResult();
        }
    }

    /// <summary>Draws every node's level up front from a SplitMix64 stream, so levels never depend on thread timing.</summary>
    internal static byte[] GenerateLevels(int count, int m, ulong seed)
    {
        var levels = new byte[count];
        var mult = 1.0 / Math.Log(m);
        for (var i = 0; i < count; i++)
        {
            // Node i's draw depends only on the seed and i.
            var z = seed + ((ulong)(i + 1) * 0x9E3779B97F4A7C15UL);
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            var uniform = ((z >> 11) + 1) * (1.0 / (1UL << 53)); // in (0, 1]
            var level = (int)(-Math.Log(uniform) * mult);
            levels[i] = (byte)Math.Min(level, MaxLevelCap);
        }

        return levels;
    }

    /// <summary>Inserts node <paramref name="q"/> (its level was drawn up front) into the graph.</summary>
    private void Insert<TKernel>(int q, ReadOnlySpan<float> all, BuildState state, SearchScratch scratch, ScoredId[] pool, ScoredId[] chosen)
        where TKernel : struct, IScoreKernel
    {
        ref var vbase = ref MemoryMarshal.GetReference(all);
        var vq = Row(ref vbase, q, _dim);
        var unusedMap = 0;
        var level = (int)_levels[q];
        var lockHeld = false;
        int entry;
        int top;
        state.EntryLock.Enter();
        try
        {
            var packed = _entry;
            entry = (int)packed;
            top = (int)(packed >> 32);
            lockHeld = level > top;
        }
        finally
        {
            if (!lockHeld)
            {
                state.EntryLock.Exit();
            }
        }

        try
        {
            var scorer = new FloatScorer<TKernel, DenseRows>(vq, ref vbase, ref unusedMap);
            var entryScore = scorer.Score(entry);
            for (var l = top; l > level; l--)
            {
                entry = GreedyClosest(scorer, entry, ref entryScore, l);
            }

            for (var l = Math.Min(level, top); l >= 0; l--)
            {
                var found = WithoutSelf(pool.AsSpan(0, WalkLayer(scorer, entry, entryScore, state.EfConstruct, l, Capacity, scratch, pool, state.Cancellation)), q);
                if (found == 0)
                {
                    continue; // only possible with EfConstruct = 1: the search found nothing but the node itself
                }

                var kept = SelectNeighbors<TKernel>(ref vbase, pool.AsSpan(0, found), _m, chosen);
                SetLinks<TKernel>(q, l, ref vbase, chosen.AsSpan(0, kept), state);
                for (var i = 0; i < kept; i++)
                {
                    AddLink<TKernel>(chosen[i].Id, q, chosen[i].Score, l, ref vbase, state);
                }

                entry = pool[0].Id;
                entryScore = pool[0].Score;
            }

            if (lockHeld)
            {
                Volatile.Write(ref _entry, PackEntry(q, level));
            }
        }
        finally
        {
            if (lockHeld)
            {
                state.EntryLock.Exit();
            }
        }
    }

    /// <summary>
    /// The paper's SELECT-NEIGHBORS-HEURISTIC over <paramref name="candidates"/> (sorted best first, scored against
    /// the base node): keeps a candidate only if it scores higher against the base than against every candidate kept
    /// before it. Writes at most <paramref name="max"/> into <paramref name="kept"/> and returns how many.
    /// </summary>
    private int SelectNeighbors<TKernel>(ref float vbase, ReadOnlySpan<ScoredId> candidates, int max, Span<ScoredId> kept)
        where TKernel : struct, IScoreKernel
    {
        var n = 0;
        foreach (var c in candidates)
        {
            if (n >= max)
            {
                break;
            }

            var vc = Row(ref vbase, c.Id, _dim);
            var good = true;
            for (var i = 0; i < n; i++)
            {
                if (TKernel.ScoreAtLeast(vc, Row(ref vbase, kept[i].Id, _dim), c.Score) > c.Score)
                {
                    good = false;
                    break;
                }
            }

            if (good)
            {
                kept[n++] = c;
            }
        }

        return n;
    }

    /// <summary>
    /// Writes the new node's list at a level. Another thread may already have linked back into it (the node is
    /// reachable from its higher levels), so those links are merged in rather than overwritten.
    /// </summary>
    private void SetLinks<TKernel>(int node, int level, ref float vbase, ReadOnlySpan<ScoredId> selected, BuildState state)
        where TKernel : struct, IScoreKernel
    {
        var locks = state.Locks;
        SpinLockArray.Enter(locks, node);
        try
        {
            ref var head = ref LinkHead(node, level);
            var existing = head;
            if (existing == 0)
            {
                for (var i = 0; i < selected.Length; i++)
                {
                    Unsafe.Add(ref head, i + 1) = selected[i].Id;
                }

                Volatile.Write(ref head, selected.Length);
                return;
            }

            var vnode = Row(ref vbase, node, _dim);
            Span<ScoredId> merged = stackalloc ScoredId[existing + selected.Length];
            selected.CopyTo(merged);
            var n = selected.Length;
            for (var i = 1; i <= existing; i++)
            {
                var id = Unsafe.Add(ref head, i);
                if (!Contains(merged[..n], id))
                {
                    merged[n++] = new ScoredId(id, TKernel.Score(vnode, Row(ref vbase, id, _dim)));
                }
            }

            WritePruned<TKernel>(ref head, merged[..n], MaxLinks(level), ref vbase);
        }
        finally
        {
            SpinLockArray.Exit(locks, node);
        }
    }

    /// <summary>Adds the back link <paramref name="node"/> -> <paramref name="target"/>, shrinking the list by the heuristic on overflow.</summary>
    private void AddLink<TKernel>(int node, int target, float score, int level, ref float vbase, BuildState state)
        where TKernel : struct, IScoreKernel
    {
        var locks = state.Locks;
        var max = MaxLinks(level);
        SpinLockArray.Enter(locks, node);
        try
        {
            ref var head = ref LinkHead(node, level);
            var n = head;
            for (var i = 1; i <= n; i++)
            {
                if (Unsafe.Add(ref head, i) == target)
                {
                    return;
                }
            }

            if (n < max)
            {
                Unsafe.Add(ref head, n + 1) = target;
                Volatile.Write(ref head, n + 1);
                return;
            }

            var vnode = Row(ref vbase, node, _dim);
            Span<ScoredId> all = stackalloc ScoredId[n + 1];
            for (var i = 0; i < n; i++)
            {
                var id = Unsafe.Add(ref head, i + 1);
                all[i] = new ScoredId(id, TKernel.Score(vnode, Row(ref vbase, id, _dim)));
            }

            all[n] = new ScoredId(target, score);
            WritePruned<TKernel>(ref head, all, max, ref vbase);
        }
        finally
        {
            SpinLockArray.Exit(locks, node);
        }
    }

    /// <summary>Sorts the candidates best first, prunes them with the heuristic to <paramref name="max"/> and writes the list.</summary>
    private void WritePruned<TKernel>(ref int head, Span<ScoredId> candidates, int max, ref float vbase)
        where TKernel : struct, IScoreKernel
    {
        SortBestFirst(candidates);
        Span<ScoredId> kept = stackalloc ScoredId[Math.Min(max, candidates.Length)];
        var n = SelectNeighbors<TKernel>(ref vbase, candidates, max, kept);
        for (var i = 0; i < n; i++)
        {
            Unsafe.Add(ref head, i + 1) = kept[i].Id;
        }

        Volatile.Write(ref head, n);
    }

    /// <summary>
    /// Removes <paramref name="self"/> from search results (keeping the order) and returns the new length. With
    /// several threads the node being inserted can already be reachable (another thread linked back to it from a
    /// level it was linked on), and selecting itself would leave it a self-loop instead of real links.
    /// </summary>
    private static int WithoutSelf(Span<ScoredId> found, int self)
    {
        var n = 0;
        foreach (var item in found)
        {
            if (item.Id != self)
            {
                found[n++] = item;
            }
        }

        return n;
    }

    private static bool Contains(ReadOnlySpan<ScoredId> items, int id)
    {
        foreach (var item in items)
        {
            if (item.Id == id)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Insertion sort by score descending, ties by id ascending (lists are at most 2M + 1 long).</summary>
    private static void SortBestFirst(Span<ScoredId> items)
    {
        for (var i = 1; i < items.Length; i++)
        {
            var item = items[i];
            var j = i - 1;
            while (j >= 0 && (items[j].Score < item.Score || (items[j].Score == item.Score && items[j].Id > item.Id)))
            {
                items[j + 1] = items[j];
                j--;
            }

            items[j + 1] = item;
        }
    }
}
