using Quiver.Segment.Segments;

namespace Quiver.Engine.Shards;

/// <summary>
/// Where an indexed segment's payloads live: in memory, or left in its points file and read when asked for
/// (on_disk_payload). Decided at load from the settings, and changed in the background when they change.
/// </summary>
internal sealed partial class Shard
{
    /// <summary>The kind of job that moves a serving segment's payloads between memory and its mapped points file.</summary>
    private const string PlacePayloadsKind = "payload_placement";

    /// <summary>Moves a serving segment's payloads to where the current settings want them.</summary>
    private void RunPlacePayloads(PointSegment segment)
    {
        long id;
        lock (_flushState)
        {
            if (!_persistedSegments.TryGetValue(segment, out id))
                return; // replaced meanwhile: the new segment was placed as it was built
        }

        var onDisk = Indexing.PayloadsOnDisk;
        if (segment.PayloadsMapped != onDisk)
            PlacePayloads(segment, id, onDisk);
    }

    /// <summary>
    /// Maps the points file, or reads its payloads back into memory, outside the lock; only the swap takes the write
    /// lock, so no search reads a payload while it moves and none waits for more than the swap.
    /// </summary>
    private void PlacePayloads(PointSegment segment, long id, bool mapped)
    {
        if (mapped)
        {
            var payloads = ShardSnapshot.MapPayloads(SegmentPath(_directory, id), segment);
            _lock.EnterWriteLock();
            try
            {
                segment.MapPayloads(payloads);
            }
            finally
            {
                _lock.ExitWriteLock();
            }

            return;
        }

        var read = segment.ReadMappedPayloads(_stopping.Token);
        _lock.EnterWriteLock();
        try
        {
            segment.HoldPayloads(read);
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }
}
