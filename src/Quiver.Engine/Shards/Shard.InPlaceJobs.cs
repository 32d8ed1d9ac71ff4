namespace Quiver.Engine.Shards;

internal sealed partial class Shard
{
    /// <summary>
    /// A job that changes an indexed segment while it serves, when one is due: codes that no longer match the
    /// quantization settings (or are missing) are rebuilt, and rows or payloads whose place (memory or mapped file)
    /// no longer matches the on_disk settings move. After a failure, not before <see cref="RetryDelay"/>.
    /// </summary>
    private OptimizationJob? PlanInPlaceJob(ShardIndexing indexing, bool dryRun)
    {
        if (DateTimeOffset.UtcNow.UtcTicks - Interlocked.Read(ref _lastFailureTicks) <= RetryDelay.Ticks)
            return null;
        string? kind = null;
        Segment.Segments.PointSegment? target = null;
        foreach (var segment in _set.Segments)
        {
            if (!segment.IsSealed || !_persistedSegments.TryGetValue(segment, out var id))
                continue;
            if (CodesStale(segment, indexing))
                kind = QuantizeKind;
            else if (PlacementStale(segment, id, indexing))
                kind = PlaceVectorsKind;
            // A segment just swapped in has no points file until its builder writes it (and places its payloads itself).
            else if (segment.PayloadsMapped != indexing.PayloadsOnDisk && File.Exists(SegmentPath(_directory, id)))
                kind = PlacePayloadsKind;
            if (kind is not null)
            {
                target = segment;
                break;
            }
        }

        if (kind is null)
            return null;
        return dryRun ? new OptimizationJob(kind, []) : Started(new OptimizationJob(kind, [(target!, [])]));
    }
}
