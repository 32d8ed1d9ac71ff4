using System.Globalization;
using System.Text;
using Quiver.Engine.Internal;
using Quiver.Index.Hnsw;
using Quiver.Segment.Segments;
using Quiver.Storage.Files;

namespace Quiver.Engine.Shards;

/// <summary>What a shard loads at start-up: its segments and the last log sequence they include.</summary>
internal sealed record ShardState(SegmentSet Set, Dictionary<PointSegment, long> Persisted, string? PlainFile, ulong AppliedSequence, long MaxSegmentId);

/// <summary>
/// On disk a shard is: <c>manifest.qmf</c> (the commit point: applied sequence, the plain-points file, and each
/// indexed segment with its deleted offsets), <c>plain-{seq}.qsn</c> (points not in an indexed segment, rewritten
/// at each flush), <c>seg-{id}.qsn</c> + <c>seg-{id}-{space}.hnsw</c> (an indexed segment's points and graphs,
/// written once), and <c>wal/</c>. Files the manifest does not name are leftovers of an interrupted step and are
/// removed at start-up.
/// </summary>
internal sealed partial class Shard
{
    private const string ManifestKind = "QMAN";
    private const string GraphKind = "QHNS";
    private const ushort ManifestVersion = 1;
    private readonly Dictionary<PointSegment, long> _persistedSegments;
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
            MemoryStream manifestBody;
            long[] obsolete;
            long generation;
            _lock.EnterReadLock();
            try
            {
                applied = AppliedSequence;
                lock (_flushState)
                {
                    if ((long)applied == Volatile.Read(ref _flushedSequence) && !_manifestDirty)
                        return;
                    obsolete = [.. _obsoleteSegmentIds];
                    generation = _swapGeneration;
                }

                // A fresh name every time: the file the current manifest names is never overwritten, so a crash
                // between the two writes below leaves the old manifest with its own, intact plain file.
                plainFile = string.Create(CultureInfo.InvariantCulture, $"plain-{applied:D20}-{Guid.NewGuid():N}.qsn");
                var plain = _set.Segments.Where(s => !_persistedSegments.ContainsKey(s)).ToArray();
                plainCapture = ShardSnapshot.Capture(plain, applied);
                manifestBody = SerializeManifest(applied, plainFile);
            }
            finally
            {
                _lock.ExitReadLock();
            }

            ShardSnapshot.WriteSerialized(Path.Combine(_directory, plainFile), ShardSnapshot.Serialize(plainCapture));
            ChecksummedFile.WriteAtomic(Path.Combine(_directory, "manifest.qmf"), ManifestKind, ManifestVersion, s => manifestBody.WriteTo(s));
            lock (_flushState)
            {
                // Only what this manifest accounted for; a swap since then keeps the manifest dirty.
                _obsoleteSegmentIds.RemoveAll(obsolete.Contains);
                _manifestDirty = _swapGeneration != generation;
            }

            // The manifest no longer names these: safe to remove now.
            if (_plainFile is not null && _plainFile != plainFile)
                File.Delete(Path.Combine(_directory, _plainFile));
            _plainFile = plainFile;
            foreach (var id in obsolete)
                DeleteSegmentFiles(_directory, id);
            Volatile.Write(ref _flushedSequence, (long)applied);
            _wal.TruncateBefore(applied + 1);
            EngineLog.ShardFlushed(_logger, _directory, applied);
        }
    }

    private MemoryStream SerializeManifest(ulong applied, string plainFile)
    {
        var body = new MemoryStream();
        using (var w = new BinaryWriter(body, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(applied);
            w.Write(plainFile);
            var indexed = _set.Segments.Where(_persistedSegments.ContainsKey).ToArray();
            w.Write(indexed.Length);
            foreach (var segment in indexed)
            {
                w.Write(_persistedSegments[segment]);
                w.Write(segment.UsedSlots);
                for (var s = 0; s < segment.Spaces.Count; s++)
                    w.Write(segment.Graph(s) is not null);
                var deleted = Enumerable.Range(0, segment.UsedSlots).Where(o => !segment.IsLiveAt(o)).ToArray();
                w.Write(deleted.Length);
                foreach (var offset in deleted)
                    w.Write(offset);
            }
        }

        return body;
    }

    private void WriteIndexedSegment(long id, PointSegment segment, HnswGraph?[] graphs)
    {
        for (var s = 0; s < graphs.Length; s++)
        {
            if (graphs[s] is { } graph)
                ChecksummedFile.WriteAtomic(GraphPath(_directory, id, s), GraphKind, 1, graph.WriteTo);
        }

        ShardSnapshot.Write(SegmentPath(_directory, id), segment, 0);
    }

    private static string SegmentPath(string directory, long id) =>
        Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $"seg-{id}.qsn"));

    private static string GraphPath(string directory, long id, int space) =>
        Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $"seg-{id}-{space}.hnsw"));

    private static void DeleteSegmentFiles(string directory, long id)
    {
        foreach (var file in Directory.EnumerateFiles(directory, string.Create(CultureInfo.InvariantCulture, $"seg-{id}*")))
        {
            var name = Path.GetFileName(file);
            if (name == $"seg-{id}.qsn" || name.StartsWith($"seg-{id}-", StringComparison.Ordinal))
                File.Delete(file);
        }
    }

    private static ShardState LoadState(string directory, IReadOnlyList<SegmentVectorSpace> spaces)
    {
        var manifestPath = Path.Combine(directory, "manifest.qmf");
        if (!File.Exists(manifestPath))
        {
            // A shard that never flushed with a manifest (or the single-file layout of earlier versions).
            var legacy = Path.Combine(directory, "segment.qsn");
            var (segment, applied) = ShardSnapshot.Load(legacy, spaces);
            return new ShardState(new SegmentSet([segment]), [], File.Exists(legacy) ? "segment.qsn" : null, applied, 0);
        }

        var body = ChecksummedFile.Read(manifestPath, ManifestKind, ManifestVersion).Body.ToArray();
        using var r = new BinaryReader(new MemoryStream(body), Encoding.UTF8);
        var appliedSequence = r.ReadUInt64();
        var plainFile = r.ReadString();
        var count = r.ReadInt32();
        var persisted = new Dictionary<PointSegment, long>();
        var segments = new List<PointSegment>();
        long maxId = 0;
        for (var i = 0; i < count; i++)
        {
            var id = r.ReadInt64();
            var slots = r.ReadInt32();
            var (segment, _) = ShardSnapshot.Load(SegmentPath(directory, id), spaces);
            if (segment.UsedSlots != slots)
                throw new InvalidDataException($"{SegmentPath(directory, id)}: holds {segment.UsedSlots} points, the manifest says {slots}");
            segment.Seal();
            for (var s = 0; s < spaces.Count; s++)
            {
                if (!r.ReadBoolean())
                    continue;
                var graph = ChecksummedFile.Read(GraphPath(directory, id, s), GraphKind, 1).Body;
                using var graphStream = new MemoryStream(graph.ToArray(), writable: false);
                segment.AttachGraph(s, HnswGraph.ReadFrom(graphStream));
            }

            var deleted = r.ReadInt32();
            for (var d = 0; d < deleted; d++)
                segment.DeleteOffset(r.ReadInt32());
            segments.Add(segment);
            persisted[segment] = id;
            maxId = Math.Max(maxId, id);
        }

        var (appendable, plainApplied) = ShardSnapshot.Load(Path.Combine(directory, plainFile), spaces);
        if (plainApplied != appliedSequence)
            throw new InvalidDataException($"{Path.Combine(directory, plainFile)}: covers sequence {plainApplied}, the manifest says {appliedSequence}");
        foreach (var segment in segments)
            segment.Indexes.SyncWith(appendable.Indexes, segment);
        segments.Add(appendable);
        RemoveLeftovers(directory, plainFile, persisted.Values.ToHashSet());
        return new ShardState(new SegmentSet([.. segments]), persisted, plainFile, appliedSequence, maxId);
    }

    private static void RemoveLeftovers(string directory, string plainFile, HashSet<long> ids)
    {
        foreach (var file in Directory.EnumerateFiles(directory))
        {
            var name = Path.GetFileName(file);
            if (name == "manifest.qmf" || name == plainFile)
                continue;
            if (name.StartsWith("plain-", StringComparison.Ordinal) || name == "segment.qsn"
                || (name.StartsWith("seg-", StringComparison.Ordinal) && !ids.Contains(SegmentIdOf(name))))
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
