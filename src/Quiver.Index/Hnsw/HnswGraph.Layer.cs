using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using Quiver.Index.Internal;
using Quiver.Kernels;

namespace Quiver.Index.Hnsw;

public sealed partial class HnswGraph
{
    /// <summary>
    /// Up to this ef the walk keeps its candidates in one sorted pool (<see cref="CandidatePool"/>), past it in two
    /// heaps: an insert into the pool moves up to ef entries, a heap's costs log ef. On glove the pool walked 1.2-1.3x
    /// faster at ef 100 to 250, 1.05-1.12x at 1,000 and 0.86-0.93x at 2,000.
    /// </summary>
    internal const int PoolMaxEf = 1024;

    /// <summary>
    /// Best-first search at one level from one entry point (the paper's SEARCH-LAYER): writes the best nodes found,
    /// best first, to <paramref name="best"/> (as many as it holds, at most ef) and returns how many. Shared by
    /// queries and construction.
    /// </summary>
    private int WalkLayer<TScorer>(TScorer scorer, int entry, float entryScore, int ef, int level, int rows, SearchScratch scratch, Span<ScoredId> best, CancellationToken ct)
        where TScorer : struct, INodeScorer, allows ref struct
    {
        if (ef <= PoolMaxEf)
        {
            SearchLayer(scorer, entry, entryScore, ef, level, rows, scratch, ct);
            return scratch.Pool.CopyBestFirst(best);
        }

        SearchLayerHeaps(scorer, entry, entryScore, ef, level, rows, scratch, ct);
        var found = scratch.Results;
        while (found.Count > best.Length)
        {
            found.Pop();
        }

        return found.DrainBestFirst(best);
    }

    /// <summary>The walk of <see cref="WalkLayer{TScorer}"/> for ef up to <see cref="PoolMaxEf"/>: leaves the ef best nodes, best first, in <c>scratch.Pool</c>.</summary>
    private void SearchLayer<TScorer>(TScorer scorer, int entry, float entryScore, int ef, int level, int rows, SearchScratch scratch, CancellationToken ct)
        where TScorer : struct, INodeScorer, allows ref struct
    {
        var visited = scratch.Visited;
        var pool = scratch.Pool;
        visited.Begin(rows);
        pool.Begin(Math.Max(1, Math.Min(ef, rows)));
        scratch.EnsurePending(2 * _m);
        ref var pending = ref MemoryMarshal.GetArrayDataReference(scratch.Pending);
        var ahead = RowPrefetch.Window(scorer.RowBytes);
        ref var marks = ref visited.Marks;
        var generation = visited.Generation;
        Unsafe.Add(ref marks, entry) = generation;
        pool.Insert(entry, entryScore);
        // Only inserts change the pool: its bound is kept here rather than read back for every node scored.
        var full = pool.IsFull;
        var worst = pool.WorstScore;
        var expansions = 0;
        int slot;
        while ((slot = pool.NextUnexpanded()) >= 0)
        {
            var current = pool.IdAt(slot);
            pool.MarkExpanded(slot);
            if ((++expansions & (CancellationCheckInterval - 1)) == 0)
            {
                ct.ThrowIfCancellationRequested();
            }

            // The likely next node to expand is the best unexpanded one, unless a neighbour scored now beats it;
            // either way its link list is fetched while this node's neighbours are scored.
            var next = pool.NextUnexpanded();
            var nextScore = float.NegativeInfinity;
            if (next >= 0)
            {
                nextScore = pool.ScoreAt(next);
                if (Sse.IsSupported)
                {
                    PrefetchLinks(pool.IdAt(next), level);
                }
            }

            var n = GatherUnvisited(scorer, current, level, ref marks, generation, ref pending, ahead);
            for (var j = 0; j < n; j++)
            {
                var id = Unsafe.Add(ref pending, j);
                if (j + ahead < n)
                {
                    scorer.Prefetch(Unsafe.Add(ref pending, j + ahead));
                }

                // Once the pool is full, a node only matters if it beats the worst kept: a distance can stop as
                // soon as it cannot.
                float s;
                if (full)
                {
                    s = scorer.ScoreAtLeast(id, worst);
                    if (s <= worst)
                    {
                        continue;
                    }
                }
                else
                {
                    s = scorer.Score(id);
                }

                if (!pool.Insert(id, s))
                {
                    continue;
                }

                full = pool.IsFull;
                worst = pool.WorstScore;

                if (s > nextScore)
                {
                    nextScore = s;
                    if (Sse.IsSupported)
                    {
                        PrefetchLinks(id, level);
                    }
                }
            }
        }
    }

    /// <summary>
    /// As <see cref="SearchLayer{TScorer}"/> with the paper's two heaps, for a large ef: leaves the ef best nodes in
    /// <c>scratch.Results</c>.
    /// </summary>
    private void SearchLayerHeaps<TScorer>(TScorer scorer, int entry, float entryScore, int ef, int level, int rows, SearchScratch scratch, CancellationToken ct)
        where TScorer : struct, INodeScorer, allows ref struct
    {
        var visited = scratch.Visited;
        var candidates = scratch.Candidates;
        var found = scratch.Results;
        visited.Begin(rows);
        candidates.Clear();
        found.Clear();
        scratch.EnsurePending(2 * _m);
        ref var pending = ref MemoryMarshal.GetArrayDataReference(scratch.Pending);
        var ahead = RowPrefetch.Window(scorer.RowBytes);
        ref var marks = ref visited.Marks;
        var generation = visited.Generation;
        Unsafe.Add(ref marks, entry) = generation;
        candidates.Push(entry, entryScore);
        found.Push(entry, entryScore);
        var expansions = 0;
        while (candidates.Count > 0)
        {
            var current = candidates.Pop();
            if (current.Score < found.Top.Score && found.Count >= ef)
            {
                break;
            }

            if ((++expansions & (CancellationCheckInterval - 1)) == 0)
            {
                ct.ThrowIfCancellationRequested();
            }

            // The likely next node to expand is the queue's best, unless a neighbour scored now beats it; either
            // way its link list is fetched while this node's neighbours are scored.
            if (Sse.IsSupported && candidates.Count > 0)
            {
                PrefetchLinks(candidates.Top.Id, level);
            }

            var n = GatherUnvisited(scorer, current.Id, level, ref marks, generation, ref pending, ahead);
            for (var j = 0; j < n; j++)
            {
                var id = Unsafe.Add(ref pending, j);
                if (j + ahead < n)
                {
                    scorer.Prefetch(Unsafe.Add(ref pending, j + ahead));
                }

                // Once the result list is full, a candidate only matters if it beats the worst kept: a distance can
                // stop as soon as it cannot.
                var full = found.Count >= ef;
                var s = full ? scorer.ScoreAtLeast(id, found.Top.Score) : scorer.Score(id);
                if (full && s <= found.Top.Score)
                {
                    continue;
                }

                if (Sse.IsSupported && (candidates.Count == 0 || s > candidates.Top.Score))
                {
                    PrefetchLinks(id, level);
                }

                candidates.Push(id, s);
                if (found.Count < ef)
                {
                    found.Push(id, s);
                }
                else
                {
                    found.ReplaceTop(id, s);
                }
            }
        }
    }
}
