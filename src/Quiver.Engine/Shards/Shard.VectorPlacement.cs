using Quiver.Segment.Segments;

namespace Quiver.Engine.Shards;

/// <summary>
/// Where an indexed segment's rows live: in memory, or left in its vector file and mapped (on_disk vectors, or
/// <c>memory: cold</c>). Decided at load from the settings, and changed in the background when they change.
/// </summary>
internal sealed partial class Shard
{
    /// <summary>The kind of job that moves a serving segment's rows between memory and their mapped file.</summary>
    private const string PlaceVectorsKind = "vector_placement";

    /// <summary>
    /// Whether some space of a persisted segment holds its rows elsewhere than the settings say. Segments written
    /// before vector files existed have their rows in the points file only and stay in memory until rebuilt.
    /// </summary>
    private bool PlacementStale(PointSegment segment, long id, ShardIndexing indexing)
    {
        for (var s = 0; s < _spaces.Count; s++)
        {
            if (segment.VectorsMapped(s) != indexing.VectorsOnDisk(s) && File.Exists(VectorPath(_directory, id, s)))
                return true;
        }

        return false;
    }

    /// <summary>
    /// Maps the rows of a just-built segment's on_disk spaces from the files just written, where they were not
    /// staged there from the start (the setting changed during the build) or were staged as float32 for a compact
    /// space; the copy in memory, or the staged file, goes.
    /// </summary>
    private void MapVectorsOnDisk(PointSegment segment, long id, ShardIndexing indexing)
    {
        for (var s = 0; s < _spaces.Count; s++)
        {
            if (indexing.VectorsOnDisk(s) && (!segment.VectorsMapped(s) || segment.VectorsCompact(s) != (_spaces[s].Datatype != VectorDatatype.Float32)))
                PlaceVectors(segment, VectorPath(_directory, id, s), s, mapped: true);
        }
    }

    /// <summary>
    /// Writes the rows of the flagged spaces of a segment being built straight from its sources to staged vector
    /// files (<c>seg-staged-{guid}-{space}.vec</c>, renamed once the segment has an id; a leftover is removed at
    /// start-up) and maps them into <paramref name="copy"/>. Returns the staged paths by space.
    /// </summary>
    private string?[] StageVectorFiles(IReadOnlyList<(PointSegment Source, int[] Offsets)> parts, PointSegment copy, bool[] onDisk, CancellationToken cancellationToken)
    {
        var staged = new string?[_spaces.Count];
        if (!onDisk.Contains(true))
            return staged;
        var sources = new (PointSegment Segment, int Offset)[copy.UsedSlots];
        var row = 0;
        foreach (var (source, offsets) in parts)
        {
            foreach (var offset in offsets)
                sources[row++] = (source, offset);
        }

        try
        {
            var stage = Guid.NewGuid().ToString("N");
            for (var s = 0; s < _spaces.Count; s++)
            {
                if (!onDisk[s])
                    continue;
                var space = s;
                var path = staged[s] = Path.Combine(_directory, string.Create(System.Globalization.CultureInfo.InvariantCulture, $"seg-staged-{stage}-{s}.vec"));
                VectorFile.Write(
                    path,
                    _spaces[s].Dimension,
                    sources.Length,
                    r => sources[r].Segment.HasVector(sources[r].Offset, space),
                    (r, destination) => sources[r].Segment.VectorAt(sources[r].Offset, space).CopyTo(destination),
                    cancellationToken);
                VectorFile.Attach(path, copy, s, mapped: true);
            }
        }
        catch
        {
            DeleteStaged(staged);
            throw;
        }

        return staged;
    }

    /// <summary>
    /// Removes the staged files a rebuild did not rename (it failed or was cancelled): each is a full copy of the
    /// segment's rows, and retries would stage more. A mapped one stays readable to its segment until unmapped.
    /// </summary>
    private static void DeleteStaged(string?[] staged)
    {
        foreach (var path in staged)
        {
            if (path is not null && File.Exists(path))
                File.Delete(path);
        }
    }

    /// <summary>Staged vector files are a rebuild's scratch: never part of a snapshot.</summary>
    private static bool IsStaged(string fileName) => fileName.StartsWith("seg-staged-", StringComparison.Ordinal);

    /// <summary>Moves a serving segment's rows to where the current settings want them.</summary>
    private void RunPlaceVectors(PointSegment segment)
    {
        long id;
        lock (_flushState)
        {
            if (!_persistedSegments.TryGetValue(segment, out id))
                return; // replaced meanwhile: the new segment was placed as it was built
        }

        var indexing = Indexing;
        for (var s = 0; s < _spaces.Count; s++)
        {
            var path = VectorPath(_directory, id, s);
            if (segment.VectorsMapped(s) != indexing.VectorsOnDisk(s) && File.Exists(path))
                PlaceVectors(segment, path, s, indexing.VectorsOnDisk(s));
        }
    }

    /// <summary>
    /// Checks the file and maps or copies its rows outside the lock, then swaps them in under the write lock: no
    /// search is reading the old rows when they go, and none waits for more than the swap.
    /// </summary>
    private void PlaceVectors(PointSegment segment, string path, int space, bool mapped)
    {
        var rows = VectorFile.Open(path, segment, space).Prepare(mapped);
        _lock.EnterWriteLock();
        try
        {
            segment.RehomeVectors(space, rows);
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }
}
