using Quiver.Kernels;

namespace Quiver.Index.Hnsw;

public sealed partial class HnswGraph
{
    /// <summary>Below this many new rows an extension runs on the calling thread: starting workers costs more.</summary>
    private const int ParallelExtendRows = 2048;

    /// <summary>
    /// An empty graph with room for <paramref name="capacity"/> nodes, for a segment that still takes writes:
    /// <see cref="Extend{TKernel}"/> links rows as they arrive while searches run. Every node's level is drawn
    /// up front from <paramref name="seed"/>, and the link arrays are sized once, so extending never moves memory a
    /// concurrent search is reading.
    /// </summary>
    public static HnswGraph CreateAppendable(int dim, int m, int capacity, ulong seed = 42)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dim, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(m, 2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(m, 512);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        var graph = new HnswGraph(capacity, dim, m, GenerateLevels(capacity, m, seed), uninitialized: true)
        {
            // Cleared batch by batch like the lists, so room not used yet is never touched.
            _appendLocks = GC.AllocateUninitializedArray<int>(capacity),
        };
        graph._count = 0;
        return graph;
    }

    /// <summary>
    /// An appendable graph with room for <paramref name="capacity"/> nodes whose first nodes are those of
    /// <paramref name="linked"/> (a live graph as it was written): linking resumes at <c>linked.Count</c> instead
    /// of starting over. Later nodes' levels are drawn from <paramref name="seed"/> as
    /// <see cref="CreateAppendable(int, int, int, ulong)"/> draws them.
    /// </summary>
    public static HnswGraph CreateAppendable(HnswGraph linked, int capacity, ulong seed = 42)
    {
        ArgumentNullException.ThrowIfNull(linked);
        var count = linked.Count;
        capacity = Math.Max(Math.Max(capacity, count), 1);
        var levels = GenerateLevels(capacity, linked._m, seed);
        linked._levels.AsSpan(0, count).CopyTo(levels);
        var graph = new HnswGraph(capacity, linked._dim, linked._m, levels, uninitialized: true)
        {
            _appendLocks = GC.AllocateUninitializedArray<int>(capacity),
        };
        if (linked.IsPacked)
            linked.UnpackLevel0(0, count, graph.Level0);
        else
            linked.Level0[..(count * linked._stride0)].CopyTo(graph.Level0);

        linked.Upper[..linked.UpperSlotsBefore(count)].CopyTo(graph.Upper);
        // The restored nodes' locks must read as free; later ones are cleared batch by batch as usual.
        graph._appendLocks.AsSpan(0, count).Clear();
        graph._count = count;
        graph._entry = Volatile.Read(ref linked._entry);
        return graph;
    }

    /// <summary>
    /// The entry (packed with its level) for the first <paramref name="count"/> nodes: the current one when it is
    /// among them, else the highest of them that has links (an extension that stopped part-way may have published a
    /// later node); none when no node below <paramref name="count"/> is linked.
    /// </summary>
    private long EntryWithin(int count)
    {
        var packed = Volatile.Read(ref _entry);
        if ((int)packed >= 0 && (int)packed < count)
            return packed;
        var best = -1;
        var bestLevel = -1;
        for (var node = 0; node < count; node++)
        {
            if (_levels[node] > bestLevel && Volatile.Read(ref LinkHead(node, 0)) > 0)
            {
                best = node;
                bestLevel = _levels[node];
            }
        }

        return PackEntry(best, bestLevel);
    }

    /// <summary>
    /// Links rows <c>Count</c> to <paramref name="end"/> - 1 (at most <see cref="Capacity"/>) into an appendable
    /// graph, then publishes the new <see cref="Count"/>. One extension at a time; searches may run concurrently
    /// and see the new nodes as they are linked. Rows must not change once passed here. Rows that
    /// <paramref name="include"/> rejects (deleted, or without this vector) are left unlinked: no walk reaches them,
    /// and they cannot crowd the graph (many deleted rows would otherwise sit wherever their stored values are).
    /// </summary>
    /// <returns>The new <see cref="Count"/>.</returns>
    /// <exception cref="InvalidOperationException">The graph was built, not created appendable.</exception>
    public int Extend<TKernel>(ReadOnlyMemory<float> vectors, int end, HnswBuildOptions options, IProgress<int>? progress = null, CancellationToken ct = default, Func<int, bool>? include = null)
        where TKernel : struct, IScoreKernel
    {
        ArgumentNullException.ThrowIfNull(options);
        var locks = _appendLocks ?? throw new InvalidOperationException("only a graph made by CreateAppendable can be extended");
        end = Math.Min(end, Capacity);
        var start = _count;
        if (end <= start)
            return start;
        if (vectors.Length < (long)end * _dim)
            throw new ArgumentException($"Vectors hold {vectors.Length} floats; {end} rows of {_dim} need {(long)end * _dim}.", nameof(vectors));

        // An extension that stopped part-way may have published one of the nodes about to be linked again.
        if (EntryPoint >= start)
            Volatile.Write(ref _entry, EntryWithin(start));

        // Empty lists for the new nodes before any is linked: a worker may link back into a node another has not
        // reached yet.
        Level0.Slice(start * _stride0, (end - start) * _stride0).Clear();
        locks.AsSpan(start, end - start).Clear();
        Upper.Slice(UpperSlotsBefore(start), UpperSlotsBefore(end) - UpperSlotsBefore(start)).Clear();
        var first = start;
        if (EntryPoint < 0)
        {
            // The first row linked becomes the entry point and needs no search.
            while (first < end && include is not null && !include(first))
                first++;
            if (first == end)
            {
                Volatile.Write(ref _count, end);
                return end;
            }

            Volatile.Write(ref _entry, PackEntry(first, _levels[first]));
            first++;
        }

        var threads = end - first >= ParallelExtendRows ? Math.Max(1, options.Threads) : 1;
        RunInserts<TKernel>(new BuildState(this, vectors, first, end, locks, options, progress, ct, include), threads);
        Volatile.Write(ref _count, end);
        return end;
    }
}
