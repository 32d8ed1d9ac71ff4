using System.Globalization;
using Quiver.Engine.Internal;
using Quiver.Index.Hnsw;
using Quiver.Segment.Segments;
using Quiver.Storage.Files;

namespace Quiver.Engine.Shards;

/// <summary>A live graph serialised by a flush, to be written beside the rows it links.</summary>
internal sealed record LiveGraphWrite(ChunkedRows Rows, int Space, int Linked, MemoryStream Body);

/// <summary>
/// The graphs of a live-indexed (append-only) segment are written now and then by a flush, so a restart resumes
/// linking where the last written graph ends instead of linking every row again. A graph changes as later rows
/// link back into earlier ones, so each write is a whole new file, <c>seg-{id}-{space}-live-{linked}.hnsw</c>,
/// named by the manifest once its rows are; the previous file goes when a manifest no longer names it.
/// </summary>
internal sealed partial class Shard
{
    /// <summary>A live graph is written again once it has grown by a quarter, and by at least this many nodes.</summary>
    private const int MinLiveGraphGrowth = 4096;

    /// <summary>Held while a live graph is extended, and by a flush while it serialises one: never both at once.</summary>
    private readonly Lock _liveGraphLock = new();

    /// <summary>Graphs read at start-up for the appendable segment, used when its live indexing starts.</summary>
    private (PointSegment Segment, HnswGraph?[] Graphs)? _restoredLiveGraphs;

    /// <summary>Set for the last flush at shutdown: every live graph that grew at all is written.</summary>
    private bool _writeAllLiveGraphs;

    private static string LiveGraphPath(string directory, long id, int space, int linked) =>
        Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $"seg-{id}-{space}-live-{linked:D10}.hnsw"));

    /// <summary>
    /// Under the read lock and <see cref="_liveGraphLock"/>: picks the graphs of <paramref name="segment"/> worth
    /// writing and notes their linked counts; <see cref="SerializeLiveGraphs"/> serialises them once the read lock is
    /// released (no extension can run meanwhile, so the counts still hold).
    /// </summary>
    private void SelectLiveGraphs(PointSegment segment, ChunkedRows rows, List<(ChunkedRows Rows, int Space, HnswGraph Graph, int Linked)> selected)
    {
        if (!segment.IsLiveIndexed || segment.IsSealed)
            return;
        for (var s = 0; s < _spaces.Count; s++)
        {
            if (segment.Graph(s) is not { } graph)
                continue;
            var linked = graph.Count;
            var written = rows.LiveGraphs[s];
            if (linked > written && (_writeAllLiveGraphs || linked - written >= Math.Max(MinLiveGraphGrowth, written / 4)))
                selected.Add((rows, s, graph, linked));
        }
    }

    /// <summary>Under the read lock and <see cref="_liveGraphLock"/>: whether a persisted segment's live graph is due.</summary>
    private bool LiveGraphsPending()
    {
        var due = new List<(ChunkedRows Rows, int Space, HnswGraph Graph, int Linked)>();
        foreach (var segment in _set.Segments)
        {
            if (_chunkedSegments.TryGetValue(segment, out var rows))
                SelectLiveGraphs(segment, rows, due);
        }

        return due.Count > 0;
    }

    private static List<LiveGraphWrite> SerializeLiveGraphs(List<(ChunkedRows Rows, int Space, HnswGraph Graph, int Linked)> selected)
    {
        var writes = new List<LiveGraphWrite>(selected.Count);
        foreach (var (rows, space, graph, linked) in selected)
        {
            var body = new MemoryStream();
            graph.WriteTo(body);
            writes.Add(new LiveGraphWrite(rows, space, linked, body));
        }

        return writes;
    }

    private void WriteLiveGraphFiles(List<LiveGraphWrite> writes)
    {
        foreach (var write in writes)
            ChecksummedFile.WriteAtomic(LiveGraphPath(_directory, write.Rows.Id, write.Space, write.Linked), GraphKind, 1, s => write.Body.WriteTo(s));
    }

    /// <summary>After the manifest names the new graph files: the ones it replaced are removed.</summary>
    private void RetireLiveGraphFiles(List<LiveGraphWrite> writes)
    {
        foreach (var write in writes)
        {
            var previous = write.Rows.LiveGraphs[write.Space];
            write.Rows.LiveGraphs[write.Space] = write.Linked;
            if (previous > 0)
                File.Delete(LiveGraphPath(_directory, write.Rows.Id, write.Space, previous));
        }
    }

    /// <summary>The graphs written for the appendable segment at its last flush, if any: taken once.</summary>
    private HnswGraph?[]? TakeRestoredLiveGraphs(PointSegment appendable)
    {
        if (_restoredLiveGraphs is not { } restored || restored.Segment != appendable)
            return null;
        _restoredLiveGraphs = null;
        return restored.Graphs;
    }

    /// <summary>
    /// Reads the live graphs a manifest names for an append-only segment (none for a sealed one). A graph only saves
    /// linking time: one that is missing or damaged is noted in <paramref name="warnings"/> and its rows are linked
    /// again.
    /// </summary>
    private static HnswGraph?[]? ReadLiveGraphs(string directory, long id, int[] linked, int rows, bool sealedSegment, List<string> warnings)
    {
        if (sealedSegment || Array.TrueForAll(linked, l => l == 0))
            return null;
        var graphs = new HnswGraph?[linked.Length];
        for (var s = 0; s < linked.Length; s++)
        {
            if (linked[s] == 0)
                continue;
            var path = LiveGraphPath(directory, id, s, linked[s]);
            try
            {
                using var stream = ChecksummedFile.OpenVerified(path, GraphKind, 1).Body;
                var graph = HnswGraph.ReadFrom(stream);
                if (graph.Count != linked[s] || graph.Count > rows)
                    throw new InvalidDataException($"links {graph.Count} rows, the manifest says {linked[s]} of {rows}");
                graphs[s] = graph;
            }
            catch (Exception ex) when (ex is InvalidDataException or IOException or StorageCorruptionException)
            {
                warnings.Add($"{path}: {ex.Message}; its rows are linked again");
                // Named by no manifest from the next flush on, so the next start-up removes the file.
                linked[s] = 0;
            }
        }

        return graphs;
    }

    /// <summary>
    /// Rows a live-indexed segment has graph room for: max_segment_size worth of vectors, at most
    /// <see cref="MaxLiveRows"/> (small vectors would otherwise reserve room for tens of millions of rows).
    /// </summary>
    private int LiveCapacityRows(ShardIndexing indexing)
    {
        return (int)Math.Clamp(indexing.MaxSegmentSizeKb * 1024 / Math.Max(1L, RowBytes), 1024, MaxLiveRows);
    }

    /// <summary>Bytes of one row of vectors, over every space.</summary>
    private long RowBytes => _spaces.Sum(s => (long)s.Dimension) * sizeof(float);

    private const int MaxLiveRows = 1 << 20;

    /// <summary>
    /// Links the appendable segment's new rows into its live graphs, outside the shard's lock: queries keep
    /// running and see the rows not linked yet through an exact scan.
    /// </summary>
    private void ExtendLiveGraphs(ShardIndexing indexing)
    {
        PointSegment appendable;
        int rows;
        ReadOnlyMemory<float>[] vectors;
        int backlog;
        _lock.EnterReadLock();
        try
        {
            appendable = _set.Appendable;
            backlog = appendable.UnlinkedRows;
            if (!appendable.IsLiveIndexed || (backlog == 0 && appendable.UnsketchedRows == 0))
                return;
            (rows, vectors) = appendable.CaptureRows();
        }
        finally
        {
            _lock.ExitReadLock();
        }

        // A large backlog (the segment just went live, or the shard recovered) is bulk work, done by background
        // workers and reported like a build (unless a rebuild is the one being reported).
        var bulk = backlog >= 4096;
        var reported = bulk && !Volatile.Read(ref _rebuilding);
        ShardOptimizerStatus? ours = null;
        if (reported)
        {
            // The graph reports the rows it has linked, counting from its first: so does the status.
            Interlocked.Exchange(ref _optimizerDone, rows - backlog);
            _optimizerStatus = ours = new(true, false, "indexing", rows, rows - backlog, DateTimeOffset.UtcNow);
        }

        try
        {
            var options = Enumerable.Range(0, _spaces.Count).Select(s => indexing.BuildOptions(s, bulk)).ToArray();
            // A flush serialising a live graph waits for this extension to end, and the other way round.
            using (_liveGraphLock.EnterScope())
            {
                appendable.ExtendGraphs(rows, vectors, options, reported ? new DoneCounter(this) : null, _stopping.Token);
                try
                {
                    var sketchBulk = bulk || appendable.UnsketchedRows >= 4096;
                    appendable.ExtendSketches(rows, vectors, sketchBulk ? indexing.BuildThreads : 1, _stopping.Token);
                }
#pragma warning disable CA1031 // A sketch only saves reads: linking goes on without it.
                catch (Exception ex) when (ex is not OperationCanceledException)
#pragma warning restore CA1031
                {
                    EngineLog.SketchFailed(_logger, ex, _directory);
                    appendable.StopSketching();
                }
            }
        }
        finally
        {
            // Unless a rebuild started meanwhile and reports itself now.
            if (ours is not null)
                Interlocked.CompareExchange(ref _optimizerStatus, Idle, ours);
        }
    }
}
