using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Quiver.Index;
using Quiver.Index.Sketch;
using Quiver.Kernels;

namespace Quiver.Segment.Segments;

public sealed partial class PointSegment
{
    /// <summary>Below this many candidates, projecting the query costs more than the rows it would skip.</summary>
    private const int MinSketchCandidates = 64;

    /// <summary>Seed rows (the k best bounds) requested ahead of the one being scored.</summary>
    private const int SeedsAhead = 16;

    /// <summary>How many candidates ahead a scattered scan prefetches sketch rows.</summary>
    private const int SketchPrefetchAhead = 8;

    [ThreadStatic]
    private static float[]? _threadBounds;

    [ThreadStatic]
    private static int[]? _threadCandidates;

    [ThreadStatic]
    private static float[]? _threadResidual;

    [ThreadStatic]
    private static TopK? _threadSeeds;

    [ThreadStatic]
    private static ScoredId[]? _threadSeedBuffer;

    /// <summary>Set when building a sketch failed: the segment serves on without (sketches only save reads).</summary>
    private bool _sketchingStopped;

    private long _sketchSkippedRows;

    /// <summary>Candidate rows exact scans of this segment did not read thanks to a sketch (for tests and metrics).</summary>
    internal long SketchSkippedRows => Interlocked.Read(ref _sketchSkippedRows);

    /// <summary>Stops growing sketches (after a failure); the ones attached keep serving.</summary>
    public void StopSketching() => Volatile.Write(ref _sketchingStopped, true);

    /// <summary>The projection sketch of a space, once one is attached.</summary>
    public ProjectionSketch? Sketch(int space) => Volatile.Read(ref _sketches[space]);

    /// <summary>Bytes held by projection sketches.</summary>
    public long SketchBytes => _sketches.Sum(s => s?.MemoryBytes ?? 0);

    /// <summary>Rows a live segment gathers before its sketch directions are chosen from them.</summary>
    private const int MinSketchSampleRows = 1024;

    /// <summary>
    /// Attaches a sketch of rows [0, sketch.Rows) of a sealed or append-only segment's space (rows that never
    /// change); exact scans use it from the next query on. Safe while queries run.
    /// </summary>
    public void AttachSketch(int space, ProjectionSketch sketch)
    {
        ArgumentNullException.ThrowIfNull(sketch);
        if (!IsSealed && !_appendOnly)
            throw new InvalidOperationException("only rows that never change can be sketched: the segment must be sealed or append-only");
        if (sketch.Dimension != _stores[space].Dimension || sketch.Rows > _used)
            throw new ArgumentException($"a sketch of {sketch.Rows} rows of {sketch.Dimension} floats does not fit space '{_stores[space].Name}' ({_used} rows of {_stores[space].Dimension})", nameof(sketch));
        Volatile.Write(ref _sketches[space], sketch);
    }

    /// <summary>
    /// Sketches the rows of a live-indexed segment up to <paramref name="rows"/> (captured by
    /// <see cref="CaptureRows"/>) in every space that takes a sketch; the directions are chosen once, from the rows
    /// present when the segment first has <see cref="MinSketchSampleRows"/>. Runs beside queries, like
    /// <c>ExtendGraphs</c>, and never beside itself.
    /// </summary>
    public void ExtendSketches(int rows, ReadOnlyMemory<float>[] vectors, int threads, CancellationToken cancellationToken)
    {
        if (!_appendOnly)
            throw new InvalidOperationException("only an append-only segment's sketches grow");
        if (Volatile.Read(ref _sketchingStopped))
            return;
        for (var s = 0; s < _stores.Length; s++)
        {
            if (_graphs[s] is not { } graph || !Sketches(Spaces[s]))
                continue;
            var sketch = Sketch(s);
            if (sketch is null)
            {
                if (rows < MinSketchSampleRows)
                    continue;
                sketch = ProjectionSketch.CreateAppendable(vectors[s], _stores[s].Dimension, rows, Math.Max(rows, graph.Capacity), cancellationToken);
                Volatile.Write(ref _sketches[s], sketch);
            }

            sketch.Extend(vectors[s], rows, threads, cancellationToken);
        }
    }

    /// <summary>
    /// Linked rows of a live-indexed segment not sketched yet (0 while too few rows exist to choose directions):
    /// work for <see cref="ExtendSketches"/> even when no row waits to be linked, as after a restart.
    /// </summary>
    public int UnsketchedRows
    {
        get
        {
            var most = 0;
            for (var s = 0; s < _stores.Length && !Volatile.Read(ref _sketchingStopped); s++)
            {
                if (_graphs[s] is not { } graph || !Sketches(Spaces[s]))
                    continue;
                var sketch = Sketch(s);
                if (sketch is null && graph.Count < MinSketchSampleRows)
                    continue;
                most = Math.Max(most, Math.Min(graph.Count, sketch?.Capacity ?? int.MaxValue) - (sketch?.Rows ?? 0));
            }

            return most;
        }
    }

    /// <summary>
    /// Whether a space gets a sketch: wide enough, a metric with a bound (dot, squared L2), and float32 rows (compact
    /// rows are chosen to save memory, and a scan over them reads a half or a quarter of the bytes anyway).
    /// </summary>
    public static bool Sketches(SegmentVectorSpace space) =>
        ProjectionSketch.Applies(space.Dimension) && space.Metric is VectorMetric.Dot or VectorMetric.NegSquaredL2
        && space.Datatype == VectorDatatype.Float32;

    /// <summary>
    /// Exact top-k over <paramref name="offsets"/> (or, when null, every row from <paramref name="from"/> on)
    /// that reads a full row only when its sketch bound can still beat the worst kept score. Returns false, having
    /// done nothing, when the space has no sketch, the kernel has no bound, or the candidates are too few.
    /// </summary>
    private bool TryScanSketched<TKernel>(int space, DenseVectorStore store, ReadOnlySpan<float> query, int[]? offsets, int from, TopK topK, float threshold, CancellationToken cancellationToken)
        where TKernel : struct, IScoreKernel
    {
        // Only dot and squared L2 decompose over an orthonormal split (see ProjectionSketch).
        if (typeof(TKernel) != typeof(DotKernel) && typeof(TKernel) != typeof(NegSquaredL2Kernel))
            return false;
        var sketch = Sketch(space);
        var count = offsets?.Length ?? (_used - from);
        if (sketch is null || count < MinSketchCandidates || topK.K == 0)
            return false;
        // Read once, before the margin: a live sketch publishes its longest row before the rows, so the margin
        // covers every row below this count (rows sketched meanwhile are scored in full).
        var sketched = sketch.Rows;
        // Candidates ascend: when the first is past the sketched rows, none has a bound (a live segment's tail).
        if ((offsets is null ? from : offsets[0]) >= sketched)
            return false;

        var dim = store.Dimension;
        var data = store.Data;
        Span<float> querySketch = stackalloc float[ProjectionSketch.Width];
        sketch.Project(query, querySketch, Rent(ref _threadResidual, dim));
        var margin = sketch.QueryMargin(querySketch, squaredL2: typeof(TKernel) == typeof(NegSquaredL2Kernel));
        var skipped = 0;
        var bounds = Rent(ref _threadBounds, count);
        var rows = Rent(ref _threadCandidates, count);
        var n = 0;
        for (var i = 0; i < count; i++)
        {
            if ((i & (CancellationCheckInterval - 1)) == 0)
                cancellationToken.ThrowIfCancellationRequested();
            var offset = offsets is null ? from + i : offsets[i];
            // Scattered candidates: start fetching a later row's sketch while this one is scored.
            if (offsets is not null && i + SketchPrefetchAhead < count)
                sketch.Prefetch(offsets[i + SketchPrefetchAhead]);
            if (offset < from || !_live[offset] || !store.IsPresent(offset))
                continue;
            if (offset >= sketched)
            {
                Offer<TKernel>(query, data.Slice(offset * dim, dim), offset, topK, threshold);
                continue;
            }

            var bound = TKernel.Score(querySketch, sketch.Row(offset));
            if (ProjectionSketch.MayReach(bound, threshold, margin))
            {
                bounds[n] = bound;
                rows[n++] = offset;
            }
            else
            {
                skipped++;
            }
        }

        var rowsAhead = RowPrefetch.Window(dim * sizeof(float));
        // The rows with the k best bounds first: their exact scores make the floor tight before the sweep.
        var seeds = _threadSeeds ??= new TopK(topK.K);
        seeds.Reset(Math.Min(topK.K, n));
        for (var i = 0; i < n; i++)
            seeds.TryAdd(bounds[i], i);
        var seedBuffer = Rent(ref _threadSeedBuffer, seeds.K);
        var seeded = seeds.DrainSortedDescending(seedBuffer);
        // The seeds are read back to back: up to SeedsAhead of them are requested together (all of a usual k),
        // a larger k's through a window, so a limit of 100 does not queue thousands of lines at once.
        for (var s = 0; s < seeded && s < SeedsAhead; s++)
            PrefetchRow(data, rows[seedBuffer[s].Id], dim);
        for (var s = 0; s < seeded; s++)
        {
            if (s + SeedsAhead < seeded)
                PrefetchRow(data, rows[seedBuffer[s + SeedsAhead].Id], dim);
            var i = seedBuffer[s].Id;
            Offer<TKernel>(query, data.Slice(rows[i] * dim, dim), rows[i], topK, threshold);
            rows[i] = -1;
        }

        for (var i = 0; i < n; i++)
        {
            if ((i & (CancellationCheckInterval - 1)) == 0)
                cancellationToken.ThrowIfCancellationRequested();
            var floor = Math.Max(threshold, topK.Threshold);
            // A row a few places on that passes today's floor will likely be read: start fetching it.
            var ahead = i + rowsAhead;
            if (ahead < n && rows[ahead] >= 0 && ProjectionSketch.MayReach(bounds[ahead], floor, margin))
                PrefetchRow(data, rows[ahead], dim);
            var offset = rows[i];
            if (offset >= 0 && ProjectionSketch.MayReach(bounds[i], floor, margin))
                Offer<TKernel>(query, data.Slice(offset * dim, dim), offset, topK, threshold);
            else if (offset >= 0)
                skipped++;
        }

        Interlocked.Add(ref _sketchSkippedRows, skipped);

        return true;
    }

    /// <summary>Starts loading a whole row (<see cref="RowPrefetch"/>: leaving long rows to the hardware stalls).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchRow(ReadOnlySpan<float> data, int offset, int dim) =>
        RowPrefetch.Lines(ref Unsafe.As<float, byte>(ref Unsafe.Add(ref MemoryMarshal.GetReference(data), (nint)offset * dim)), dim * sizeof(float));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T[] Rent<T>(ref T[]? buffer, int length)
    {
        if (buffer is null || buffer.Length < length)
            buffer = new T[Math.Max(length, 256)];
        return buffer;
    }
}
