using System.Globalization;
using Quiver.Segment.Segments;

namespace Quiver.Engine.Shards;

internal sealed partial class Shard
{
    /// <summary>
    /// Every segment's memory by component and its files' bytes, for telemetry. Files are counted by the segment
    /// id they carry; the appendable segment's rows live in the plain file, counted with it.
    /// </summary>
    public IReadOnlyList<SegmentFootprint> Footprint(int shardIndex)
    {
        List<(PointSegment Segment, long? Id, string Kind)> segments;
        string? plain;
        _lock.EnterReadLock();
        try
        {
            lock (_flushState)
            {
                segments = [.. _set.Segments.Select(s => (s, _persistedSegments.TryGetValue(s, out var id) ? id : _chunkedSegments.TryGetValue(s, out var rows) ? rows.Id : (long?)null, KindOf(s)))];
            }

            plain = Directory.EnumerateFiles(_directory, "plain-*.qsn").Select(Path.GetFileName).FirstOrDefault();
        }
        finally
        {
            _lock.ExitReadLock();
        }

        var result = new List<SegmentFootprint>(segments.Count);
        foreach (var (segment, id, kind) in segments)
        {
            long disk = 0;
            if (id is { } persisted)
            {
                foreach (var file in SafeFiles(string.Create(CultureInfo.InvariantCulture, $"seg-{persisted}*")))
                {
                    var name = Path.GetFileName(file);
                    if (name == string.Create(CultureInfo.InvariantCulture, $"seg-{persisted}.qsn") || name.StartsWith(string.Create(CultureInfo.InvariantCulture, $"seg-{persisted}-"), StringComparison.Ordinal))
                        disk += SafeLength(file);
                }
            }
            else if (segment == segments[^1].Segment && plain is not null)
            {
                disk += SafeLength(Path.Combine(_directory, plain));
            }

            // Reads of a segment's figures run under the read lock, as writers change them under the write lock.
            _lock.EnterReadLock();
            try
            {
                result.Add(new SegmentFootprint(
                    shardIndex,
                    id,
                    kind,
                    segment.LiveCount,
                    segment.VectorBytes,
                    segment.GraphBytes,
                    segment.CodeBytes,
                    segment.SketchBytes,
                    segment.PayloadBytes(),
                    disk));
            }
            finally
            {
                _lock.ExitReadLock();
            }
        }

        return result;
    }

    private static string KindOf(PointSegment segment) => segment.IsSealed
        ? "indexed"
        : segment.IsLiveIndexed ? "live-indexed" : "appendable";

    /// <summary>Files matching a pattern now; a file removed by a flush meanwhile is simply not there.</summary>
    private IEnumerable<string> SafeFiles(string pattern)
    {
        try
        {
            return Directory.GetFiles(_directory, pattern);
        }
        catch (DirectoryNotFoundException)
        {
            return [];
        }
    }

    private static long SafeLength(string path)
    {
        try
        {
            return new FileInfo(path).Length;
        }
        catch (FileNotFoundException)
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
