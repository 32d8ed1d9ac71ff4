using Quiver.Index.Hnsw;
using Quiver.Index.Sketch;
using Quiver.Segment.Segments;
using Quiver.Storage.Files;

namespace Quiver.Engine.Shards;

/// <summary>
/// What a rebuilt segment gets after it serves: projection sketches and payload graphs, optional structures that
/// only speed searches up, built and written once the flush gate is released.
/// </summary>
internal sealed partial class Shard
{
    /// <summary>
    /// Sketches every indexed space whose vectors are wide enough and whose metric has a bound (dot, L2), and that
    /// is not left without one (see <see cref="ShardIndexing.SketchLeftOut"/>), attaches
    /// each sketch as it is done and writes its file. Only this rebuild thread touches the segment's files until it
    /// returns (a later rebuild replacing the segment starts after it).
    /// </summary>
    private void BuildSketches(PointSegment copy, long id, HnswGraph?[] graphs, ShardIndexing indexing, CancellationToken token)
    {
        for (var s = 0; s < graphs.Length; s++)
        {
            if (graphs[s] is null || !PointSegment.Sketches(_spaces[s]) || indexing.SketchLeftOut(s))
                continue;
            var sketch = ProjectionSketch.Build(copy.VectorRows(s), _spaces[s].Dimension, copy.UsedSlots, indexing.BuildThreads, token);
            copy.AttachSketch(s, sketch);
            ChecksummedFile.WriteAtomic(SketchPath(_directory, id, s), SketchKind, 1, sketch.WriteTo);
        }
    }

    /// <summary>
    /// Builds, attaches and writes the payload graphs of every space with payload_m set: one per indexed exact value
    /// held by more points than the space's full-scan threshold (fewer are scanned exactly anyway).
    /// </summary>
    private void BuildPayloadGraphs(PointSegment copy, long id, ShardIndexing indexing, CancellationToken token)
    {
        for (var s = 0; s < _spaces.Count; s++)
        {
            var settings = indexing.Space(s);
            if (settings.PayloadM < 2 || copy.VectorCount(s) == 0)
                continue;
            var options = indexing.BuildOptions(s, background: true) with { M = Math.Min(settings.PayloadM, 512) };
            var minPoints = (int)Math.Min(int.MaxValue, Math.Max(1L, settings.FullScanThresholdKb * 1024 / ((long)_spaces[s].Dimension * sizeof(float))));
            // The segment already serves: its payload indexes change with deletes and index changes under the
            // write lock, so the blocks are read under the read lock and the graphs built outside it.
            IReadOnlyList<PayloadBlock> blocks;
            _lock.EnterReadLock();
            try
            {
                blocks = copy.PayloadBlocks(s, minPoints);
            }
            finally
            {
                _lock.ExitReadLock();
            }

            var set = copy.BuildPayloadGraphs(s, blocks, options, token);
            if (set.Count == 0)
                continue;
            copy.AttachPayloadGraphs(s, set);
            ChecksummedFile.WriteAtomic(PayloadGraphsPath(_directory, id, s), PayloadGraphsKind, 1, set.WriteTo);
        }
    }
}
