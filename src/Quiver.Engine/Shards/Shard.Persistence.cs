using System.Globalization;
using System.Text;
using Quiver.Engine.Internal;
using Quiver.Index.Hnsw;
using Quiver.Index.Sketch;
using Quiver.Segment.Segments;
using Quiver.Storage.Files;

namespace Quiver.Engine.Shards;

/// <summary>What a shard loads at start-up: its segments and the last log sequence they include.</summary>
internal sealed record ShardState(
    SegmentSet Set,
    Dictionary<PointSegment, long> Persisted,
    Dictionary<PointSegment, ChunkedRows> Chunked,
    string? PlainFile,
    ulong AppliedSequence,
    long MaxSegmentId,
    (PointSegment Segment, HnswGraph?[] Graphs)? RestoredLiveGraphs,
    IReadOnlyList<string> LoadWarnings);

/// <summary>
/// The chunk files that hold an append-only segment's rows (rows [First, First + Count) each) and, per space, how
/// many rows the graph file its manifest names links (0: none).
/// </summary>
internal sealed class ChunkedRows(long id, int spaces)
{
    public long Id { get; } = id;

    public List<(int First, int Count)> Chunks { get; } = [];

    public int[] LiveGraphs { get; } = new int[spaces];

    public int PersistedRows => Chunks.Count == 0 ? 0 : Chunks[^1].First + Chunks[^1].Count;
}

/// <summary>
/// On disk a shard is: <c>manifest.qmf</c> (the commit point: applied sequence, the plain-points file, and in
/// segment order each indexed segment and each append-only segment with its deleted offsets),
/// <c>plain-{seq}.qsn</c> (the points of other segments, and the payload index definitions, rewritten at each
/// flush), <c>seg-{id}.qsn</c> + <c>seg-{id}-{space}.vec</c> + <c>seg-{id}-{space}.hnsw</c> (+ <c>seg-{id}-{space}.sketch</c>
/// for wide vectors: an indexed segment's points, rows, graphs and projection sketches, written once), <c>seg-{id}-rows-{first}.qsn</c> (the rows an append-only segment gained between two flushes, each
/// written once), and <c>wal/</c>. Files the manifest does not name are leftovers of an interrupted step and are
/// removed at start-up.
/// </summary>
internal sealed partial class Shard
{
    private const string ManifestKind = "QMAN";
    private const string GraphKind = "QHNS";
    private const string SketchKind = "QSKT";
    private const string PayloadGraphsKind = "QPGS";
    private const ushort ManifestVersion = 3;
    private const byte IndexedEntry = 0;
    private const byte ChunkedEntry = 1;
    private readonly Dictionary<PointSegment, long> _persistedSegments;
    private readonly Dictionary<PointSegment, ChunkedRows> _chunkedSegments;
    private readonly List<long> _obsoleteSegmentIds = [];
    private readonly Lock _flushState = new();
    private string? _plainFile;
    private bool _manifestDirty;
    private long _swapGeneration;
    private long _nextSegmentId;

    /// <summary>
    /// Writes applied state to disk and drops log files it covers. The state is captured under the read lock
    /// (references to rows that never change, copies of the rest) and serialised and written after it is
    /// released, so a flush holds up writers, and readers queued behind them, for as little as it can.
    /// </summary>
    public void Flush()
    {
        lock (_flushGate)
        {
            ulong applied;
            string plainFile;
            SnapshotCapture plainCapture;
            var chunkWrites = new List<(ChunkedRows Rows, int First, SnapshotCapture Capture)>();
            MemoryStream manifestBody;
            long[] obsolete;
            long generation;
            List<LiveGraphWrite> graphWrites;
            // A live graph being extended is skipped this time rather than waited for.
            var graphsStable = _liveGraphLock.TryEnter();
            var graphsSelected = new List<(ChunkedRows Rows, int Space, HnswGraph Graph, int Linked)>();
            try
            {
                _lock.EnterReadLock();
                try
                {
                    applied = AppliedSequence;
                    // Nothing new applied may still leave a live graph that has grown (linking lags the writes).
                    var graphsPending = graphsStable && LiveGraphsPending();
                    lock (_flushState)
                    {
                        if ((long)applied == Volatile.Read(ref _flushedSequence) && !_manifestDirty && !graphsPending)
                        {
                            // Nothing to write, but the change stream may have moved on since: let the log go.
                            _wal.TruncateBefore(TruncationPoint(applied));
                            return;
                        }
                        obsolete = [.. _obsoleteSegmentIds];
                        generation = _swapGeneration;
                    }

                    // A fresh name every time: the file the current manifest names is never overwritten, so a crash
                    // between the two writes below leaves the old manifest with its own, intact plain file.
                    plainFile = string.Create(CultureInfo.InvariantCulture, $"plain-{applied:D20}-{Guid.NewGuid():N}.qsn");
                    var plain = new List<PointSegment>();
                    foreach (var segment in _set.Segments)
                    {
                        if (_persistedSegments.ContainsKey(segment))
                            continue;
                        if (!segment.IsAppendOnly)
                        {
                            plain.Add(segment);
                            continue;
                        }

                        // An append-only segment's stored rows never change: only the rows added since the last flush
                        // are written, to a file of their own.
                        ChunkedRows? rows;
                        // Under _flushState: readers (telemetry) look at this map holding only the shard's read lock.
                        lock (_flushState)
                        {
                            if (!_chunkedSegments.TryGetValue(segment, out rows))
                                _chunkedSegments[segment] = rows = new ChunkedRows(Interlocked.Increment(ref _nextSegmentId), _spaces.Count);
                        }

                        if (segment.UsedSlots > rows.PersistedRows)
                            chunkWrites.Add((rows, rows.PersistedRows, ShardSnapshot.CaptureRange(segment, rows.PersistedRows, segment.UsedSlots)));
                        if (graphsStable)
                            SelectLiveGraphs(segment, rows, graphsSelected);
                    }

                    plainCapture = ShardSnapshot.Capture(plain, _set.Appendable, applied);
                    manifestBody = SerializeManifest(
                        applied,
                        plainFile,
                        chunkWrites.ToDictionary(w => w.Rows, w => (w.First, w.Capture.Points.Count)),
                        graphsSelected.ToDictionary(g => (g.Rows, g.Space), g => g.Linked));
                }
                finally
                {
                    _lock.ExitReadLock();
                }

                // Still holding the live graph lock: no extension has changed the graphs since their counts were taken.
                graphWrites = SerializeLiveGraphs(graphsSelected);
            }
            finally
            {
                if (graphsStable)
                    _liveGraphLock.Exit();
            }

            foreach (var (rows, first, capture) in chunkWrites)
                ShardSnapshot.WriteSerialized(ChunkPath(_directory, rows.Id, first), ShardSnapshot.Serialize(capture));
            WriteLiveGraphFiles(graphWrites);
            ShardSnapshot.WriteSerialized(Path.Combine(_directory, plainFile), ShardSnapshot.Serialize(plainCapture));
            ChecksummedFile.WriteAtomic(Path.Combine(_directory, "manifest.qmf"), ManifestKind, ManifestVersion, s => manifestBody.WriteTo(s));
            lock (_flushState)
            {
                foreach (var (rows, first, capture) in chunkWrites)
                    rows.Chunks.Add((first, capture.Points.Count));

                // Only what this manifest accounted for; a swap since then keeps the manifest dirty.
                _obsoleteSegmentIds.RemoveAll(obsolete.Contains);
                _manifestDirty = _swapGeneration != generation;
            }

            RetireLiveGraphFiles(graphWrites);

            // The manifest no longer names these: safe to remove now.
            if (_plainFile is not null && _plainFile != plainFile)
                File.Delete(Path.Combine(_directory, _plainFile));
            _plainFile = plainFile;
            foreach (var id in obsolete)
                DeleteSegmentFiles(_directory, id);
            Volatile.Write(ref _flushedSequence, (long)applied);
            _wal.TruncateBefore(TruncationPoint(applied));
            EngineLog.ShardFlushed(_logger, _directory, applied);
        }
    }

    private MemoryStream SerializeManifest(ulong applied, string plainFile, Dictionary<ChunkedRows, (int First, int Count)> newChunks, Dictionary<(ChunkedRows Rows, int Space), int> newGraphs)
    {
        var body = new MemoryStream();
        using (var w = new BinaryWriter(body, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(applied);
            w.Write(plainFile);
            var entries = _set.Segments.Where(s => _persistedSegments.ContainsKey(s) || _chunkedSegments.ContainsKey(s)).ToArray();
            w.Write(entries.Length);
            foreach (var segment in entries)
            {
                if (_persistedSegments.TryGetValue(segment, out var id))
                {
                    w.Write(IndexedEntry);
                    w.Write(id);
                    w.Write(segment.UsedSlots);
                    for (var s = 0; s < segment.Spaces.Count; s++)
                        w.Write(segment.Graph(s) is not null);
                    WriteDeleted(w, segment, segment.UsedSlots);
                    continue;
                }

                var rows = _chunkedSegments[segment];
                var chunks = new List<(int First, int Count)>(rows.Chunks);
                if (newChunks.TryGetValue(rows, out var added))
                    chunks.Add(added);
                var total = chunks.Count == 0 ? 0 : chunks[^1].First + chunks[^1].Count;
                w.Write(ChunkedEntry);
                w.Write(rows.Id);
                w.Write(segment.IsSealed);
                w.Write(total);
                w.Write(chunks.Count);
                foreach (var (first, count) in chunks)
                {
                    w.Write(first);
                    w.Write(count);
                }

                WriteDeleted(w, segment, total);
                for (var s = 0; s < _spaces.Count; s++)
                    w.Write(newGraphs.TryGetValue((rows, s), out var linked) ? linked : rows.LiveGraphs[s]);
            }
        }

        return body;
    }

    private static void WriteDeleted(BinaryWriter w, PointSegment segment, int rows)
    {
        var deleted = Enumerable.Range(0, rows).Where(o => !segment.IsLiveAt(o)).ToArray();
        w.Write(deleted.Length);
        foreach (var offset in deleted)
            w.Write(offset);
    }

    private static int[] ReadDeleted(BinaryReader r)
    {
        var deleted = new int[r.ReadInt32()];
        for (var d = 0; d < deleted.Length; d++)
            deleted[d] = r.ReadInt32();
        return deleted;
    }

    /// <summary>
    /// Writes an indexed segment's files: graphs, one vector file per space (the rows, laid out to be mapped), and
    /// the points file, which then holds ids, versions and payloads but no rows.
    /// </summary>
    private void WriteIndexedSegment(long id, PointSegment segment, HnswGraph?[] graphs, SnapshotCapture points, string?[] staged)
    {
        for (var s = 0; s < graphs.Length; s++)
        {
            if (graphs[s] is { } graph)
                ChecksummedFile.WriteAtomic(GraphPath(_directory, id, s), GraphKind, 1, graph.WriteTo);
        }

        for (var s = 0; s < _spaces.Count; s++)
        {
            // A staged file is complete and already mapped by the segment: it only takes its final name. One of a
            // compact space holds float32 rows (the graph was built from them): the final file stores them compact,
            // and the segment moves to it (MapVectorsOnDisk).
            if (staged[s] is { } path && _spaces[s].Datatype == Segment.Segments.VectorDatatype.Float32)
                File.Move(path, VectorPath(_directory, id, s));
            else
                VectorFile.Write(VectorPath(_directory, id, s), segment, s);
        }

        Quiver.Storage.Internal.DirectorySync.Fsync(_directory);
        ShardSnapshot.WriteSerialized(SegmentPath(_directory, id), ShardSnapshot.Serialize(points, [.. Enumerable.Repeat(true, _spaces.Count)]));
    }

    private static string VectorPath(string directory, long id, int space) =>
        Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $"seg-{id}-{space}.vec"));

    private static string SegmentPath(string directory, long id) =>
        Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $"seg-{id}.qsn"));

    private static string ChunkPath(string directory, long id, int firstRow) =>
        Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $"seg-{id}-rows-{firstRow:D10}.qsn"));

    private static string GraphPath(string directory, long id, int space) =>
        Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $"seg-{id}-{space}.hnsw"));

    /// <summary>An indexed segment's graph file: read into memory, or left in the file and mapped (on_disk).</summary>
    private static HnswGraph ReadGraph(string path, bool onDisk)
    {
        if (onDisk)
        {
            var (_, length) = ChecksummedFile.Verify(path, GraphKind, 1);
            return HnswGraph.OpenMapped(path, ChecksummedFile.HeaderSize, length);
        }

        using var stream = ChecksummedFile.OpenVerified(path, GraphKind, 1).Body;
        // In memory, a sealed segment's graph is packed (its level 0 by used length, 3-byte ids).
        return HnswGraph.ReadFrom(stream).Packed();
    }

    private static string SketchPath(string directory, long id, int space) =>
        Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $"seg-{id}-{space}.sketch"));

    private static string PayloadGraphsPath(string directory, long id, int space) =>
        Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $"seg-{id}-{space}.pgraphs"));

    private static void DeleteSegmentFiles(string directory, long id)
    {
        foreach (var file in Directory.EnumerateFiles(directory, string.Create(CultureInfo.InvariantCulture, $"seg-{id}*")))
        {
            var name = Path.GetFileName(file);
            if (name == $"seg-{id}.qsn" || name.StartsWith($"seg-{id}-", StringComparison.Ordinal))
                File.Delete(file);
        }
    }

    private static ShardState LoadState(string directory, IReadOnlyList<SegmentVectorSpace> spaces, ShardIndexing indexing)
    {
        var manifestPath = Path.Combine(directory, "manifest.qmf");
        if (!File.Exists(manifestPath))
        {
            // A shard that never flushed with a manifest (or the single-file layout of earlier versions).
            var legacy = Path.Combine(directory, "segment.qsn");
            var (segment, applied) = ShardSnapshot.Load(legacy, spaces);
            return new ShardState(new SegmentSet([segment]), [], [], File.Exists(legacy) ? "segment.qsn" : null, applied, 0, null, []);
        }

        var (version, content) = ReadManifest(manifestPath);
        using var r = new BinaryReader(new MemoryStream(content), Encoding.UTF8);
        var appliedSequence = r.ReadUInt64();
        var plainFile = r.ReadString();
        var count = r.ReadInt32();
        var persisted = new Dictionary<PointSegment, long>();
        var chunked = new Dictionary<PointSegment, ChunkedRows>();
        var segments = new List<PointSegment>();
        var liveGraphs = new Dictionary<PointSegment, HnswGraph?[]>();
        var warnings = new List<string>();
        long maxId = 0;
        for (var i = 0; i < count; i++)
        {
            // Version 1 manifests list indexed segments only.
            var kind = version == 1 ? IndexedEntry : r.ReadByte();
            var id = r.ReadInt64();
            var segment = kind switch
            {
                IndexedEntry => LoadIndexedSegment(directory, id, spaces, r, indexing, warnings),
                ChunkedEntry => LoadChunkedSegment(directory, id, spaces, r, version, chunked, liveGraphs, warnings),
                _ => throw new InvalidDataException($"{manifestPath}: unknown segment kind {kind}"),
            };
            if (kind == IndexedEntry)
                persisted[segment] = id;
            segments.Add(segment);
            maxId = Math.Max(maxId, id);
        }

        var (plain, plainApplied) = ShardSnapshot.Load(Path.Combine(directory, plainFile), spaces);
        if (plainApplied != appliedSequence)
            throw new InvalidDataException($"{Path.Combine(directory, plainFile)}: covers sequence {plainApplied}, the manifest says {appliedSequence}");
        foreach (var segment in segments)
            segment.Indexes.SyncWith(plain.Indexes, segment);
        if (segments.Count > 0 && chunked.ContainsKey(segments[^1]) && !segments[^1].IsSealed)
        {
            // The appendable segment was append-only: the plain points, if any, belonged to segments the
            // optimizer had sealed and not indexed yet; they wait for it again, sealed.
            if (plain.LiveCount > 0)
            {
                plain.Seal();
                segments.Insert(segments.Count - 1, plain);
            }
        }
        else
        {
            segments.Add(plain);
        }

        RemoveLeftovers(directory, plainFile, [.. persisted.Values, .. chunked.Values.Select(c => c.Id)], chunked.Values);
        // Only the appendable segment's graphs resume; a sealed append-only segment is rebuilt anyway.
        var appendable = segments[^1];
        var restored = liveGraphs.TryGetValue(appendable, out var graphs) && graphs is not null ? (appendable, graphs) : ((PointSegment, HnswGraph?[])?)null;
        return new ShardState(new SegmentSet([.. segments]), persisted, chunked, plainFile, appliedSequence, maxId, restored, warnings);
    }

    /// <summary>The log sequence a shard folder's applied state covers (0: nothing flushed there yet).</summary>
    internal static ulong FlushedSequenceIn(string directory)
    {
        var manifestPath = Path.Combine(directory, "manifest.qmf");
        if (!File.Exists(manifestPath))
            return 0;
        var (_, content) = ReadManifest(manifestPath);
        return BitConverter.ToUInt64(content, 0);
    }

    private static (ushort Version, byte[] Body) ReadManifest(string path)
    {
        // Version 2 added append-only segments and version 3 their live graphs; older files are read as they are.
        var content = ChecksummedFile.Read(path, ManifestKind, ManifestVersion);
        return (content.Version, content.Body.ToArray());
    }

    private static PointSegment LoadIndexedSegment(string directory, long id, IReadOnlyList<SegmentVectorSpace> spaces, BinaryReader r, ShardIndexing indexing, List<string> warnings)
    {
        var slots = r.ReadInt32();
        var (segment, _, rowsElsewhere) = ShardSnapshot.LoadWithLayout(SegmentPath(directory, id), spaces, indexing.PayloadsOnDisk);
        if (segment.UsedSlots != slots)
            throw new InvalidDataException($"{SegmentPath(directory, id)}: holds {segment.UsedSlots} points, the manifest says {slots}");
        segment.Seal();
        // Segments written since vector files exist keep their rows there: mapped (on_disk) or copied into memory.
        for (var s = 0; s < spaces.Count; s++)
        {
            if (rowsElsewhere[s])
                VectorFile.Attach(VectorPath(directory, id, s), segment, s, indexing.VectorsOnDisk(s));
        }
        for (var s = 0; s < spaces.Count; s++)
        {
            if (!r.ReadBoolean())
                continue;
            segment.AttachGraph(s, ReadGraph(GraphPath(directory, id, s), indexing.GraphOnDisk(s)));
            LoadCodes(directory, id, segment, s, indexing, warnings);

            // Optional: segments written before sketches existed, or of narrow vectors, have none; a damaged one
            // costs only speed, so the segment loads without it.
            var sketchPath = SketchPath(directory, id, s);
            if (File.Exists(sketchPath) && !indexing.SketchLeftOut(s))
            {
                try
                {
                    var sketch = ChecksummedFile.Read(sketchPath, SketchKind, 1).Body;
                    using var sketchStream = new MemoryStream(sketch.ToArray(), writable: false);
                    segment.AttachSketch(s, ProjectionSketch.ReadFrom(sketchStream));
                }
                catch (Exception ex) when (ex is InvalidDataException or IOException or StorageCorruptionException or ArgumentException)
                {
                    warnings.Add($"{sketchPath}: {ex.Message}; exact scans of this segment read every row");
                }
            }
        }

        // Payload graphs are optional too, and exist with or without the space's main graph (m: 0).
        for (var s = 0; s < spaces.Count; s++)
        {
            var path = PayloadGraphsPath(directory, id, s);
            if (!File.Exists(path))
                continue;
            try
            {
                using var stream = new MemoryStream(ChecksummedFile.Read(path, PayloadGraphsKind, 1).Body.ToArray(), writable: false);
                segment.AttachPayloadGraphs(s, PayloadGraphSet.ReadFrom(stream, segment.UsedSlots, spaces[s].Dimension));
            }
#pragma warning disable CA1031 // An optional file: whatever is wrong with it, the segment loads without it.
            catch (Exception ex) when (ex is not OperationCanceledException)
#pragma warning restore CA1031
            {
                warnings.Add($"{path}: {ex.Message}; filters on its values walk the main graph");
            }
        }

        foreach (var offset in ReadDeleted(r))
            segment.DeleteOffset(offset);
        return segment;
    }

    private static PointSegment LoadChunkedSegment(
        string directory, long id, IReadOnlyList<SegmentVectorSpace> spaces, BinaryReader r, ushort version,
        Dictionary<PointSegment, ChunkedRows> chunked, Dictionary<PointSegment, HnswGraph?[]> liveGraphs, List<string> warnings)
    {
        var sealedSegment = r.ReadBoolean();
        var total = r.ReadInt32();
        var rows = new ChunkedRows(id, spaces.Count);
        var chunkCount = r.ReadInt32();
        for (var c = 0; c < chunkCount; c++)
            rows.Chunks.Add((r.ReadInt32(), r.ReadInt32()));
        var deleted = ReadDeleted(r).ToHashSet();
        // Version 3 added the live graph written with each append-only segment.
        for (var s = 0; s < spaces.Count && version >= 3; s++)
            rows.LiveGraphs[s] = r.ReadInt32();
        var segment = new PointSegment(spaces, Math.Max(1024, total));
        segment.MakeAppendOnly();
        foreach (var (first, _) in rows.Chunks)
            ShardSnapshot.LoadRows(ChunkPath(directory, id, first), segment, first, deleted);
        if (segment.UsedSlots != total || rows.PersistedRows != total)
            throw new InvalidDataException($"{ChunkPath(directory, id, 0)}: rows of segment {id} end at {segment.UsedSlots}, the manifest says {total}");
        if (sealedSegment)
            segment.Seal();
        chunked[segment] = rows;
        if (ReadLiveGraphs(directory, id, rows.LiveGraphs, total, sealedSegment, warnings) is { } graphs)
            liveGraphs[segment] = graphs;
        return segment;
    }

    private static void RemoveLeftovers(string directory, string plainFile, HashSet<long> ids, IEnumerable<ChunkedRows> chunked)
    {
        // Of the live graphs, only the ones the manifest names stay: earlier or unfinished ones are leftovers.
        var liveGraphFiles = chunked
            .SelectMany(rows => rows.LiveGraphs.Select((linked, space) => linked > 0 ? Path.GetFileName(LiveGraphPath(directory, rows.Id, space, linked)) : null))
            .OfType<string>()
            .ToHashSet(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(directory))
        {
            var name = Path.GetFileName(file);
            if (name == "manifest.qmf" || name == plainFile || liveGraphFiles.Contains(name))
                continue;
            if (name.StartsWith("plain-", StringComparison.Ordinal) || name == "segment.qsn"
                || (name.StartsWith("seg-", StringComparison.Ordinal) && !ids.Contains(SegmentIdOf(name)))
                || (name.StartsWith("seg-", StringComparison.Ordinal) && name.Contains("-live-", StringComparison.Ordinal)))
            {
                File.Delete(file);
            }
        }
    }

    private static long SegmentIdOf(string name)
    {
        var digits = name.AsSpan(4);
        var end = digits.IndexOfAnyExcept("0123456789");
        return long.TryParse(end < 0 ? digits : digits[..end], NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : -1;
    }
}
