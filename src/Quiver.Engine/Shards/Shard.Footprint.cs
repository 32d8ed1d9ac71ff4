using Quiver.Segment.Segments;

namespace Quiver.Engine.Shards;

internal sealed partial class Shard
{
    /// <summary>
    /// Every segment's memory by component and its files' bytes, for telemetry, then one entry for the plain file
    /// (kind <c>plain-file</c>: the rows of segments not persisted on their own, and the payload index definitions).
    /// Empty once the shard is disposed.
    /// </summary>
    /// <remarks>Takes the shard's read lock (which does not recurse): never call it from inside <see cref="Read{T}"/>.</remarks>
    public IReadOnlyList<SegmentFootprint> Footprint(int shardIndex)
    {
        if (Volatile.Read(ref _disposed) != 0)
            return [];
        var result = new List<SegmentFootprint>();
        string? plain;
        try
        {
            _lock.EnterReadLock();
            try
            {
                lock (_flushState)
                {
                    plain = _plainFile;
                    foreach (var segment in _set.Segments)
                    {
                        long? id = _persistedSegments.TryGetValue(segment, out var persisted) ? persisted
                            : _chunkedSegments.TryGetValue(segment, out var rows) ? rows.Id : null;
                        result.Add(new SegmentFootprint(shardIndex, id, SegmentKind(segment), segment.LiveCount, segment.VectorBytes, segment.GraphBytes,
                            segment.CodeBytes, segment.SketchBytes, segment.PayloadBytes(), 0));
                    }
                }
            }
            finally
            {
                _lock.ExitReadLock();
            }
        }
        catch (ObjectDisposedException)
        {
            return []; // deleted meanwhile
        }

        // File sizes outside the lock, from one listing: a file a flush removes meanwhile simply counts 0.
        var sizes = new Dictionary<long, long>();
        long plainBytes = 0;
        foreach (var file in SafeFiles())
        {
            var name = Path.GetFileName(file);
            if (name == plain)
                plainBytes = SafeLength(file);
            else if (name.StartsWith("seg-", StringComparison.Ordinal) && SegmentIdOf(name) is var id and >= 0)
                sizes[id] = sizes.GetValueOrDefault(id) + SafeLength(file);
        }

        for (var i = 0; i < result.Count; i++)
        {
            if (result[i].Id is { } id)
                result[i] = result[i] with { DiskBytes = sizes.GetValueOrDefault(id) };
        }

        if (plain is not null)
            result.Add(new SegmentFootprint(shardIndex, null, "plain-file", 0, 0, 0, 0, 0, 0, plainBytes));
        return result;
    }

    private static string SegmentKind(PointSegment segment) => segment.IsSealed
        ? "indexed"
        : segment.IsLiveIndexed ? "live-indexed" : "appendable";

    /// <summary>The shard folder's files now (none once it is deleted).</summary>
    private string[] SafeFiles()
    {
        try
        {
            return Directory.GetFiles(_directory);
        }
        catch (Exception ex) when (ex is DirectoryNotFoundException or IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <summary>A file's length, or 0 when a flush removed it meanwhile.</summary>
    private static long SafeLength(string path)
    {
        try
        {
            return new FileInfo(path).Length;
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }
}

/// <summary>One segment's memory by component and the bytes of its files.</summary>
public sealed record SegmentFootprint(
    int Shard,
    long? Id,
    string Kind,
    long Points,
    long VectorBytes,
    long GraphBytes,
    long CodeBytes,
    long SketchBytes,
    long PayloadBytes,
    long DiskBytes)
{
    public long RamBytes => VectorBytes + GraphBytes + CodeBytes + SketchBytes + PayloadBytes;
}
