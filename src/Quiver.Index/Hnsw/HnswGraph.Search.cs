using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using Quiver.Index.Internal;
using Quiver.Kernels;

namespace Quiver.Index.Hnsw;

public sealed partial class HnswGraph
{
    /// <summary>Cancellation is polled once per this many node expansions (a power of two).</summary>
    private const int CancellationCheckInterval = 256;

    /// <summary>
    /// Up to this many nodes, a walk's visited marks (2 bytes a node: 512 KiB) stay in the L2 cache, and prefetching
    /// them only spends instructions (glove's int8 walk ran 1.02-1.07x faster without); larger graphs prefetch them.
    /// </summary>
    private const int MarksInCache = 256 * 1024;

    /// <summary>
    /// Rows up to this long (codes) are gathered without a branch on the visited test and prefetched after: glove's
    /// int8 walk ran 1.07-1.08x faster. Longer rows are prefetched as their nodes are found, which float rows need.
    /// </summary>
    private const int BranchFreeGatherBytes = 256;

    /// <summary>
    /// Finds the <paramref name="k"/> nodes with the highest score against <paramref name="query"/> among those
    /// accepted by <paramref name="filter"/> (<see langword="null"/> accepts all), best first, and returns how
    /// many were written to <paramref name="results"/> (at most <c>min(k, Count)</c>). <paramref name="ef"/> is the
    /// size of the dynamic result list (raised to k when smaller): larger is slower and more accurate.
    /// </summary>
    /// <remarks>
    /// Allocation-free once warm: the visited set, candidate pool and heaps are pooled per thread. With a filter,
    /// rejected nodes are still walked through (they keep the graph connected) but never enter the result list, and
    /// the walk stops once the closest unexpanded node is worse than the worst of ef accepted results; when fewer
    /// than ef nodes are accepted overall the walk degrades to visiting the reachable graph, never more.
    /// </remarks>
    /// <exception cref="ArgumentException">Wrong query or vector length, or <paramref name="results"/> too short.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled.</exception>
    public int Search<TKernel>(
        ReadOnlySpan<float> query,
        ReadOnlySpan<float> vectors,
        int k,
        int ef,
        IGraphFilter? filter,
        Span<ScoredId> results,
        CancellationToken ct = default)
        where TKernel : struct, IScoreKernel
    {
        // An appendable graph may be extended while this search runs: every id read from a list is below the
        // caller's row count, which covers all nodes linked before the caller took its view of the rows.
        var count = Count;
        CheckArguments(query, k, results, count);
        var rows = vectors.Length / _dim;
        if (rows < count)
        {
            throw new ArgumentException($"Vectors hold {vectors.Length} floats; {count} rows of {_dim} need {(long)count * _dim}.", nameof(vectors));
        }

        var unused = 0;
        var scorer = new FloatScorer<TKernel, DenseRows>(query, ref MemoryMarshal.GetReference(vectors), ref unused);
        return SearchCore(scorer, rows, k, ef, filter, results, ct);
    }

    /// <summary>
    /// As <see cref="Search{TKernel}"/> for a graph over a subset of the rows of <paramref name="vectors"/>:
    /// node i is row <c>rows.Rows[i]</c>. The filter is asked about rows, and results carry rows.
    /// </summary>
    /// <exception cref="ArgumentException">Wrong lengths, or a node without a row.</exception>
    public int SearchSubset<TKernel>(
        ReadOnlySpan<float> query,
        ReadOnlySpan<float> vectors,
        RowSubset rows,
        int k,
        int ef,
        IGraphFilter? filter,
        Span<ScoredId> results,
        CancellationToken ct = default)
        where TKernel : struct, IScoreKernel
    {
        ArgumentNullException.ThrowIfNull(rows);
        var count = Count;
        CheckArguments(query, k, results, count);
        if (rows.Count < count)
        {
            throw new ArgumentException($"{count} nodes need a row each; {rows.Count} given.", nameof(rows));
        }

        // Rows ascend (checked by RowSubset), so the last one bounds them all.
        if (((long)rows.Last + 1) * _dim > vectors.Length)
        {
            throw new ArgumentException($"Row {rows.Last} is past the {vectors.Length / _dim} rows given.", nameof(rows));
        }

        var table = rows.Rows;
        var scorer = new FloatScorer<TKernel, MappedRows>(query, ref MemoryMarshal.GetReference(vectors), ref MemoryMarshal.GetArrayDataReference(table));
        var found = SearchCore(scorer, count, k, ef, filter, results, ct);
        for (var i = 0; i < found; i++)
        {
            results[i] = new ScoredId(table[results[i].Id], results[i].Score);
        }

        return found;
    }

    /// <summary>
    /// As <see cref="Search{TKernel}"/> and <see cref="SearchSubset{TKernel}"/> (with <paramref name="subset"/>) for
    /// rows stored in a compact datatype (<c>datatype: float16</c> or <c>uint8</c>), which
    /// <typeparamref name="TKernel"/> widens as it reads them.
    /// </summary>
    /// <exception cref="ArgumentException">Wrong lengths, or a node without a row.</exception>
    public int SearchCompact<TKernel, TElement>(
        ReadOnlySpan<float> query,
        ReadOnlySpan<TElement> vectors,
        RowSubset? subset,
        int k,
        int ef,
        IGraphFilter? filter,
        Span<ScoredId> results,
        CancellationToken ct = default)
        where TKernel : struct, IRowScoreKernel<TElement>
        where TElement : unmanaged
    {
        var count = Count;
        CheckArguments(query, k, results, count);
        if (subset is null)
        {
            var rows = vectors.Length / _dim;
            if (rows < count)
                throw new ArgumentException($"Vectors hold {vectors.Length} values; {count} rows of {_dim} need {(long)count * _dim}.", nameof(vectors));
            var unused = 0;
            return SearchCore(new CompactScorer<TKernel, TElement, DenseRows>(query, ref MemoryMarshal.GetReference(vectors), ref unused), rows, k, ef, filter, results, ct);
        }

        if (subset.Count < count)
            throw new ArgumentException($"{count} nodes need a row each; {subset.Count} given.", nameof(subset));
        if (((long)subset.Last + 1) * _dim > vectors.Length)
            throw new ArgumentException($"Row {subset.Last} is past the {vectors.Length / _dim} rows given.", nameof(subset));
        var table = subset.Rows;
        var scorer = new CompactScorer<TKernel, TElement, MappedRows>(query, ref MemoryMarshal.GetReference(vectors), ref MemoryMarshal.GetArrayDataReference(table));
        var found = SearchCore(scorer, count, k, ef, filter, results, ct);
        for (var i = 0; i < found; i++)
            results[i] = new ScoredId(table[results[i].Id], results[i].Score);
        return found;
    }

    private void CheckArguments<T>(ReadOnlySpan<T> query, int k, Span<ScoredId> results, int count)
    {
        if (query.Length != _dim)
        {
            throw new ArgumentException($"Query has {query.Length} dimensions; the graph has {_dim}.", nameof(query));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(k);
        if (results.Length < Math.Min(k, count))
        {
            throw new ArgumentException($"Results hold {results.Length} but up to {Math.Min(k, count)} may be written.", nameof(results));
        }
    }

    /// <summary>The walk shared by every search entry point; results carry node ids.</summary>
    [SkipLocalsInit]
    private int SearchCore<TScorer>(TScorer scorer, int rows, int k, int ef, IGraphFilter? filter, Span<ScoredId> results, CancellationToken ct)
        where TScorer : struct, INodeScorer, allows ref struct
    {
        var wanted = Math.Min(k, rows);
        var packed = Volatile.Read(ref _entry);
        var entry = (int)packed;
        if (wanted == 0 || entry < 0)
        {
            return 0;
        }

        wanted = Math.Min(wanted, results.Length);
        ef = Math.Max(ef, k);
        var scratch = SearchScratch.ForCurrentThread();
        var entryScore = scorer.Score(entry);
        for (var level = (int)(packed >> 32); level > 0; level--)
        {
            entry = GreedyClosest(scorer, entry, ref entryScore, level);
        }

        if (filter is null)
        {
            var written = WalkLayer(scorer, entry, entryScore, ef, 0, rows, scratch, results[..wanted], ct);
            GC.KeepAlive(_linkStorage);
            return written;
        }

        var found = scratch.Results;
        SearchLevel0Filtered(scorer, entry, entryScore, ef, filter, rows, scratch, ct);
        while (found.Count > wanted)
        {
            found.Pop();
        }

        // The walk reads the links through raw pointers: their owner must outlive it, even when this graph was
        // swapped out (an on_disk graph replacing the built one) while the walk ran.
        GC.KeepAlive(_linkStorage);
        return found.DrainBestFirst(results);
    }

    /// <summary>Greedy walk at one upper level: moves to the best neighbour until none improves (ef = 1).</summary>
    private int GreedyClosest<TScorer>(TScorer scorer, int current, ref float currentScore, int level)
        where TScorer : struct, INodeScorer, allows ref struct
    {
        var ahead = RowPrefetch.Window(scorer.RowBytes);
        bool improved;
        do
        {
            improved = false;
            ref var head = ref LinkHead(current, level);
            var n = Volatile.Read(ref head);
            for (var j = 1; j <= Math.Min(n, ahead); j++)
            {
                scorer.Prefetch(Unsafe.Add(ref head, j));
            }

            for (var j = 1; j <= n; j++)
            {
                var id = Unsafe.Add(ref head, j);
                if (j + ahead <= n)
                {
                    scorer.Prefetch(Unsafe.Add(ref head, j + ahead));
                }

                var s = scorer.ScoreAtLeast(id, currentScore);
                if (s > currentScore)
                {
                    currentScore = s;
                    current = id;
                    improved = true;
                }
            }
        }
        while (improved);
        return current;
    }

    /// <summary>
    /// Level-0 search under a filter. Every reachable node may be expanded (rejected ones too, so the walk stays
    /// connected however the accepted nodes are spread; this is the multi-hop generalisation of ACORN's two-hop
    /// expansion), but only accepted nodes enter the ef-bounded result list, and a node enters the candidate queue
    /// only while it could still lead somewhere better than the worst accepted result.
    /// </summary>
    private void SearchLevel0Filtered<TScorer>(TScorer scorer, int entry, float entryScore, int ef, IGraphFilter filter, int rows, SearchScratch scratch, CancellationToken ct)
        where TScorer : struct, INodeScorer, allows ref struct
    {
        var visited = scratch.Visited;
        var candidates = scratch.Candidates;
        var accepted = scratch.Results;
        visited.Begin(rows);
        candidates.Clear();
        accepted.Clear();
        scratch.EnsurePending(2 * _m);
        ref var pending = ref MemoryMarshal.GetArrayDataReference(scratch.Pending);
        var ahead = RowPrefetch.Window(scorer.RowBytes);
        ref var marks = ref visited.Marks;
        var generation = visited.Generation;
        Unsafe.Add(ref marks, entry) = generation;
        candidates.Push(entry, entryScore);
        if (filter.Accept(scorer.RowId(entry)))
        {
            accepted.Push(entry, entryScore);
        }

        var expansions = 0;
        while (candidates.Count > 0)
        {
            var current = candidates.Pop();
            if (accepted.Count >= ef && current.Score < accepted.Top.Score)
            {
                break;
            }

            if ((++expansions & (CancellationCheckInterval - 1)) == 0)
            {
                ct.ThrowIfCancellationRequested();
            }

            if (Sse.IsSupported && candidates.Count > 0)
            {
                PrefetchLinks(candidates.Top.Id, 0);
            }

            var n = GatherUnvisited(scorer, current.Id, 0, ref marks, generation, ref pending, ahead);
            for (var j = 0; j < n; j++)
            {
                var id = Unsafe.Add(ref pending, j);
                if (j + ahead < n)
                {
                    scorer.Prefetch(Unsafe.Add(ref pending, j + ahead));
                }

                var full = accepted.Count >= ef;
                var s = full ? scorer.ScoreAtLeast(id, accepted.Top.Score) : scorer.Score(id);
                if (full && s <= accepted.Top.Score)
                {
                    continue;
                }

                if (Sse.IsSupported && (candidates.Count == 0 || s > candidates.Top.Score))
                {
                    PrefetchLinks(id, 0);
                }

                candidates.Push(id, s);
                if (filter.Accept(scorer.RowId(id)))
                {
                    if (full)
                    {
                        accepted.ReplaceTop(id, s);
                    }
                    else
                    {
                        accepted.Push(id, s);
                    }
                }
            }
        }
    }

    /// <summary>
    /// Copies the not yet visited neighbours of <paramref name="node"/> into the pending buffer, marking them
    /// visited and prefetching the rows of the first <paramref name="ahead"/>, so their loads overlap before any is
    /// scored; the walk keeps that many rows requested ahead as it scores the rest.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int GatherUnvisited<TScorer>(TScorer scorer, int node, int level, ref ushort marks, ushort generation, ref int pending, int ahead)
        where TScorer : struct, INodeScorer, allows ref struct
    {
        if (level == 0 && IsPacked)
        {
            return GatherUnvisitedPacked(scorer, node, ref marks, generation, ref pending, ahead);
        }

        ref var head = ref LinkHead(node, level);
        var n = Volatile.Read(ref head);
        var count = 0;
        if (Sse.IsSupported && _count > MarksInCache)
        {
            // The marks are random accesses into an array of Count ushorts; start all of them at once.
            for (var j = 1; j <= n; j++)
            {
                PrefetchMark(ref marks, Unsafe.Add(ref head, j));
            }
        }

        for (var j = 1; j <= n; j++)
        {
            var id = Unsafe.Add(ref head, j);
            ref var mark = ref Unsafe.Add(ref marks, (nint)(uint)id);
            if (mark != generation)
            {
                mark = generation;
                if (count < ahead)
                {
                    scorer.Prefetch(id);
                }

                Unsafe.Add(ref pending, count++) = id;
            }
        }

        return count;
    }

    /// <summary>As <see cref="GatherUnvisited{TScorer}"/> at level 0 of a packed graph.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private unsafe int GatherUnvisitedPacked<TScorer>(TScorer scorer, int node, ref ushort marks, ushort generation, ref int pending, int ahead)
        where TScorer : struct, INodeScorer, allows ref struct
    {
        var list = PackedList(node);
        var n = PackedCount(node);
        var count = 0;
        if (Sse.IsSupported && _count > MarksInCache)
        {
            for (var j = 0; j < n; j++)
            {
                PrefetchMark(ref marks, PackedId(list, j));
            }
        }

        if (scorer.RowBytes > BranchFreeGatherBytes)
        {
            for (var j = 0; j < n; j++)
            {
                var id = PackedId(list, j);
                ref var mark = ref Unsafe.Add(ref marks, (nint)(uint)id);
                if (mark != generation)
                {
                    mark = generation;
                    if (count < ahead)
                    {
                        scorer.Prefetch(id);
                    }

                    PrefetchOffset(id);
                    Unsafe.Add(ref pending, count++) = id;
                }
            }

            return count;
        }

        // Whether a neighbour was visited is a coin toss to the branch predictor: every id is written and the
        // count moves only for new ones.
        for (var j = 0; j < n; j++)
        {
            var id = PackedId(list, j);
            ref var mark = ref Unsafe.Add(ref marks, (nint)(uint)id);
            var fresh = mark != generation;
            mark = generation;
            Unsafe.Add(ref pending, count) = id;
            count += Unsafe.BitCast<bool, byte>(fresh);
        }

        for (var j = 0; j < count; j++)
        {
            var id = Unsafe.Add(ref pending, j);
            if (j < ahead)
            {
                scorer.Prefetch(id);
            }

            // Its list is found through its offset: fetched now, so a later expansion waits on one load, not two.
            PrefetchOffset(id);
        }

        return count;
    }

    /// <summary>Starts loading a packed level 0's offset of <paramref name="node"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private unsafe void PrefetchOffset(int node)
    {
        if (Sse.IsSupported)
        {
            Sse.Prefetch0(_packedOffsets + node);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private unsafe void PrefetchLinks(int node, int level)
    {
        // Three lines: a packed list is at most 3 * 2M bytes (96 at M = 16), a fixed one 4 + 8M (132), either unaligned.
        var p = level == 0 && IsPacked ? PackedList(node) : (byte*)Unsafe.AsPointer(ref LinkHead(node, level));
        Sse.Prefetch0(p);
        Sse.Prefetch0(p + 64);
        Sse.Prefetch0(p + 128);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void PrefetchMark(ref ushort marks, int node) =>
        Sse.Prefetch0(Unsafe.AsPointer(ref Unsafe.Add(ref marks, (nint)(uint)node)));
}
