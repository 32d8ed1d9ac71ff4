using Quiver.Engine.Internal;
using Quiver.Index.Hnsw;
using Quiver.Index.Threading;
using Quiver.Kernels;
using Quiver.Segment.Segments;

namespace Quiver.Engine.Shards;

/// <summary>What the optimizer of a shard is doing, for collection info and the optimizations endpoint.</summary>
internal sealed record ShardOptimizerStatus(bool Running, bool Pending, string? Kind, long PointsTotal, long PointsDone, DateTimeOffset? StartedAt);

internal sealed partial class Shard
{
    private readonly SemaphoreSlim _optimizerSignal = new(0);
    private readonly Task _optimizerLoop;
    private ShardIndexing _indexing;
    private int _optimizerSignaled;
    private static readonly ShardOptimizerStatus Idle = new(false, false, null, 0, 0, null);
    private volatile ShardOptimizerStatus _optimizerStatus = Idle;
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(30);
    private long _optimizerDone;
    private long _lastFailureTicks = DateTimeOffset.MinValue.UtcTicks;
    private bool _rebuilding;
    private Thread? _rebuildThread;

    public ShardOptimizerStatus OptimizerStatus
    {
        get
        {
            var status = _optimizerStatus;
            return status with { PointsDone = Interlocked.Read(ref _optimizerDone), Pending = !status.Running && HasPendingWork() };
        }
    }

    public ShardIndexing Indexing => Volatile.Read(ref _indexing);

    public void UpdateIndexing(ShardIndexing indexing)
    {
        Volatile.Write(ref _indexing, indexing);
        SignalOptimizer();
    }

    private void SignalOptimizer()
    {
        if (Interlocked.Exchange(ref _optimizerSignaled, 1) == 0)
            _optimizerSignal.Release();
    }

    private bool HasPendingWork()
    {
        if (Volatile.Read(ref _disposed) != 0)
            return false;
        _lock.EnterReadLock();
        try
        {
            return PlanLocked(Indexing, dryRun: true) is not null;
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>
    /// The optimizer runs on its own thread. Linking new rows into a live graph keeps pace with the writes at normal
    /// priority (the rows it has not linked yet cost every query an exact scan); segment rebuilds run on a thread
    /// at background priority (it and its build workers yield the cores to queries and writes), so a long index
    /// build never lifts query latency much.
    /// </summary>
    private Task StartOptimizerThread()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                OptimizerLoop();
                done.TrySetResult();
            }
            catch (OperationCanceledException)
            {
                done.TrySetResult();
            }
#pragma warning disable CA1031 // reported through the task the shard awaits on dispose
            catch (Exception ex)
#pragma warning restore CA1031
            {
                done.TrySetException(ex);
            }
        })
        {
            IsBackground = true,
            Name = "quiver-optimizer",
        };
        thread.Start();
        return done.Task;
    }

    private void OptimizerLoop()
    {
        try
        {
            while (!_stopping.IsCancellationRequested)
            {
                _optimizerSignal.Wait(_stopping.Token);
                Interlocked.Exchange(ref _optimizerSignaled, 0);
                while (!_stopping.IsCancellationRequested)
                {
                    // Look under the read lock first: the write lock stalls queries, so it is taken only to change
                    // the segment set, not once per live-indexing batch.
                    OptimizationJob? job;
                    _lock.EnterReadLock();
                    try
                    {
                        job = PlanLocked(Indexing, dryRun: true);
                    }
                    finally
                    {
                        _lock.ExitReadLock();
                    }

                    if (job is null)
                        break;
                    if (job.Kind != LinkKind)
                    {
                        _lock.EnterWriteLock();
                        try
                        {
                            job = PlanLocked(Indexing, dryRun: false);
                        }
                        finally
                        {
                            _lock.ExitWriteLock();
                        }

                        if (job is null)
                            continue;
                    }

                    if (job.Kind != LinkKind)
                    {
                        // Rebuilds run beside the linking, so new rows keep being linked however long they take.
                        StartRebuild(job);
                        continue;
                    }

                    try
                    {
                        ExtendLiveGraphs(Indexing);
                    }
#pragma warning disable CA1031 // A failure leaves the rows scanned exactly; it is logged and retried on the next signal.
                    catch (Exception ex) when (ex is not OperationCanceledException || !_stopping.IsCancellationRequested)
#pragma warning restore CA1031
                    {
                        EngineLog.OptimizationFailed(_logger, ex, _directory, job.Kind);
                        break;
                    }
                }
            }
        }
        finally
        {
            _rebuildThread?.Join();
        }
    }

    /// <summary>
    /// Runs a rebuild (indexing a sealed segment, vacuum, merge) on a thread of its own at background priority; at
    /// most one runs at a time, and the optimizer is signalled when it ends.
    /// </summary>
    private void StartRebuild(OptimizationJob job)
    {
        _rebuildThread?.Join();
        var thread = new Thread(() =>
        {
            BackgroundPriority.LowerCurrentThread();
            try
            {
                Run(job);
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
            }
#pragma warning disable CA1031 // An optimizer failure leaves the sealed segments serving; it is logged and retried later.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                EngineLog.OptimizationFailed(_logger, ex, _directory, job.Kind);
                Interlocked.Exchange(ref _lastFailureTicks, DateTimeOffset.UtcNow.UtcTicks);
            }
            finally
            {
                // In this order: while the status still says running, nobody asks for pending work; once it says
                // idle, the planner must already see no rebuild, or a job due next (a merge) would read as neither
                // running nor pending.
                Volatile.Write(ref _rebuilding, false);
                _optimizerStatus = Idle;
                SignalOptimizer();
            }
        })
        {
            IsBackground = true,
            Name = "quiver-rebuild",
        };
        _rebuildThread = thread;
        thread.Start();
    }

    /// <summary>The kind of job that links an appendable segment's new rows into its live graphs.</summary>
    private const string LinkKind = "linking";

    private sealed record OptimizationJob(string Kind, (PointSegment Source, int[] Offsets)[] Parts);

    /// <summary>
    /// Picks the next job. Indexing seals the appendable segment (a fresh one takes writes from here on); vacuum
    /// rebuilds an indexed segment whose deleted share passed the bound. With <paramref name="dryRun"/> nothing changes.
    /// </summary>
    private OptimizationJob? PlanLocked(ShardIndexing indexing, bool dryRun)
    {
        var appendable = _set.Appendable;
        // One rebuild at a time per shard (it runs beside the linking), so every sealed segment a plan sees is settled.
        var rebuilding = Volatile.Read(ref _rebuilding);
        if (!rebuilding && indexing.IndexingThresholdKb > 0 && appendable.LiveCount > 0 && NeedsBatchIndexing(appendable, indexing))
        {
            if (dryRun)
                return new OptimizationJob("indexing", []);
            var offsets = appendable.Seal();
            var fresh = new PointSegment(_spaces);
            fresh.Indexes.SyncWith(appendable.Indexes, fresh);
            _set = _set.WithNewAppendable(fresh);
            return Started(new OptimizationJob("indexing", [(appendable, offsets)]));
        }

        // Indexing switched off: a graph read at start-up for the appendable segment would only hold memory.
        if (indexing.IndexingThresholdKb == 0 && !dryRun)
            _restoredLiveGraphs = null;

        // Payload graphs alone (m: 0) are built for sealed segments only: the appendable one is then sealed at twice
        // the threshold (NeedsBatchIndexing) and searched exactly until then.
        if (indexing.IndexingThresholdKb > 0 && indexing.AnyGraph && !appendable.IsLiveIndexed && VectorKb(appendable) >= indexing.IndexingThresholdKb)
        {
            // Crossing the threshold as writes arrive: index the segment in place from now on.
            if (dryRun)
                return new OptimizationJob("indexing", []);
            appendable.StartLiveIndexing([.. Enumerable.Range(0, _spaces.Count).Select(s => indexing.Space(s).M)], LiveCapacityRows(indexing), TakeRestoredLiveGraphs(appendable));
        }

        if (appendable.UnlinkedRows > 0 || appendable.UnsketchedRows > 0)
            return new OptimizationJob(LinkKind, []);
        if (rebuilding)
            return null;

        // A sealed segment that is neither indexed nor being indexed: an earlier job failed. Retry, not too often.
        foreach (var segment in _set.Segments)
        {
            if (segment.IsSealed && !_persistedSegments.ContainsKey(segment) && segment != appendable
                && DateTimeOffset.UtcNow.UtcTicks - Interlocked.Read(ref _lastFailureTicks) > RetryDelay.Ticks)
            {
                return dryRun ? new OptimizationJob("indexing", []) : Started(new OptimizationJob("indexing", [(segment, [.. segment.LiveOffsets()])]));
            }
        }

        if (PlanInPlaceJob(indexing, dryRun) is { } inPlace)
            return inPlace;

        foreach (var segment in _set.Segments)
        {
            if (!segment.IsSealed || segment.UsedSlots < indexing.VacuumMinVectorNumber)
                continue;
            var deletedShare = 1.0 - ((double)segment.LiveCount / segment.UsedSlots);
            if (deletedShare > indexing.DeletedThreshold)
                return dryRun ? new OptimizationJob("vacuum", []) : Started(new OptimizationJob("vacuum", [(segment, [.. segment.LiveOffsets()])]));
        }

        return PlanMerge(indexing, dryRun);
    }

    /// <summary>
    /// More indexed segments than default_segment_number: the smallest are rebuilt as one, as long as the result
    /// stays within max_segment_size. Fewer segments mean fewer graph walks per query.
    /// </summary>
    private OptimizationJob? PlanMerge(ShardIndexing indexing, bool dryRun)
    {
        var settled = _set.Segments.Where(s => s.IsSealed && _persistedSegments.ContainsKey(s)).OrderBy(s => s.LiveCount).ToList();
        var excess = settled.Count - indexing.TargetSegments;
        if (excess <= 0)
            return null;
        var parts = new List<PointSegment>();
        long kb = 0;
        foreach (var segment in settled)
        {
            var segmentKb = VectorKb(segment);
            if (kb + segmentKb > indexing.MaxSegmentSizeKb || parts.Count > excess)
                break;
            parts.Add(segment);
            kb += segmentKb;
        }

        if (parts.Count < 2)
            return null;
        return dryRun ? new OptimizationJob("merge", []) : Started(new OptimizationJob("merge", [.. parts.Select(p => (p, (int[])[.. p.LiveOffsets()]))]));
    }

    // Marked running while the write lock is still held, so no reader sees the sealed segment as neither pending
    // nor in progress.
    private OptimizationJob Started(OptimizationJob job)
    {
        Volatile.Write(ref _rebuilding, true);
        Interlocked.Exchange(ref _optimizerDone, 0);
        _optimizerStatus = new(true, false, job.Kind, job.Parts.Sum(p => p.Offsets.Length), 0, DateTimeOffset.UtcNow);
        return job;
    }

    /// <summary>
    /// Whether the appendable segment should be sealed and indexed by one batch build: it filled up while
    /// indexing was off (a bulk load: one parallel build makes a compact, frozen segment), it outgrew
    /// max_segment_size or its graphs' room, or too many of its rows are dead.
    /// </summary>
    private bool NeedsBatchIndexing(PointSegment appendable, ShardIndexing indexing)
    {
        // Not indexed live: a bulk load, or no space has a graph of its own (payload graphs only, m: 0), in which
        // case even an append-only segment (one loaded from its row chunks) is sealed and rebuilt.
        if (!appendable.IsLiveIndexed)
            return (!appendable.IsAppendOnly || !indexing.AnyGraph) && VectorKb(appendable) > 2 * indexing.IndexingThresholdKb;
        var usedKb = appendable.UsedSlots * RowBytes / 1024;
        var deadShare = 1.0 - ((double)appendable.LiveCount / appendable.UsedSlots);
        return usedKb >= indexing.MaxSegmentSizeKb || appendable.UsedSlots >= Math.Min(LiveCapacityRows(indexing), appendable.LiveGraphCapacity)
            || (appendable.UsedSlots >= indexing.VacuumMinVectorNumber && deadShare > indexing.DeletedThreshold);
    }

    private long VectorKb(PointSegment segment)
    {
        long bytes = 0;
        for (var s = 0; s < _spaces.Count; s++)
            bytes += (long)segment.VectorCount(s) * _spaces[s].Dimension * sizeof(float);
        // Sparse vectors and multivectors count too: a collection with only those is sealed (and inverted-indexed) like any.
        return (bytes + segment.SparseBytes + segment.MultiBytes) / 1024;
    }

    private void Run(OptimizationJob job)
    {
        if (job.Kind == QuantizeKind)
        {
            RunQuantize(job.Parts[0].Source);
            return;
        }

        if (job.Kind == PlaceVectorsKind)
        {
            RunPlaceVectors(job.Parts[0].Source);
            return;
        }

        if (job.Kind == PlacePayloadsKind)
        {
            RunPlacePayloads(job.Parts[0].Source);
            return;
        }

        var total = job.Parts.Sum(p => p.Offsets.Length);
        using var activity = Internal.EngineMetrics.Activities.StartActivity("quiver.optimize");
        activity?.SetTag("quiver.optimization", job.Kind);
        activity?.SetTag("quiver.points", total);
        activity?.SetTag("quiver.shard", _directory);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var token = _stopping.Token;
        var indexing = Indexing;

        // on_disk spaces never pass through memory: their rows go from the sources to a staged vector file, mapped.
        var onDisk = Enumerable.Range(0, _spaces.Count).Select(indexing.VectorsOnDisk).ToArray();
        var copy = PointSegment.CopyOf(job.Parts, token, onDisk);
        var staged = StageVectorFiles(job.Parts, copy, onDisk, token);
        try
        {
            var graphs = new HnswGraph?[_spaces.Count];
            for (var s = 0; s < _spaces.Count; s++)
            {
                // m = 0 turns graphs off: a vacuum or merge still compacts the segment, searched exactly.
                var options = indexing.BuildOptions(s, background: true);
                if (copy.VectorCount(s) == 0 || options.M < 2)
                    continue;
                var rows = copy.VectorRows(s);
                var counter = new DoneCounter(this);
                graphs[s] = _spaces[s].Metric switch
                {
                    VectorMetric.Dot => HnswGraph.Build<DotKernel>(rows, _spaces[s].Dimension, copy.UsedSlots, options, counter, token),
                    VectorMetric.NegSquaredL2 => HnswGraph.Build<NegSquaredL2Kernel>(rows, _spaces[s].Dimension, copy.UsedSlots, options, counter, token),
                    _ => HnswGraph.Build<NegL1Kernel>(rows, _spaces[s].Dimension, copy.UsedSlots, options, counter, token),
                };
            }

            // The points as built (every row live, so graph node ids are file offsets), captured before the rows move
            // to huge pages; written after the swap.
            var points = ShardSnapshot.Capture([copy], copy, 0);
            for (var s = 0; s < graphs.Length; s++)
            {
                if (graphs[s] is { } graph)
                    copy.AttachGraph(s, graph);
            }

            var codes = BuildCodes(copy, indexing);

            // Swap first, so queries use the new index at once, then write its files. No manifest may name them before
            // they are complete: the flush gate is held until they are, so no flush runs in between (the log keeps
            // every change since the last manifest meanwhile).
            var id = Interlocked.Increment(ref _nextSegmentId);
            lock (_flushGate)
            {
                Swap(job, copy, id);
                try
                {
                    WriteIndexedSegment(id, copy, graphs, points, staged);
                    // on_disk: from now on the graph is read from its file, and the copy in memory goes.
                    for (var s = 0; s < graphs.Length; s++)
                    {
                        if (graphs[s] is not null && indexing.GraphOnDisk(s))
                            copy.ReplaceGraph(s, ReadGraph(GraphPath(_directory, id, s), onDisk: true));
                    }

                    // on_disk vectors likewise; the rows move under the write lock, which no search holds.
                    MapVectorsOnDisk(copy, id, indexing);
                }
                catch
                {
                    // The segment serves on but is not persisted: flushes write its points with the plain ones, and
                    // it is rebuilt (and its files written) again later.
                    _lock.EnterWriteLock();
                    try
                    {
                        lock (_flushState)
                        {
                            _persistedSegments.Remove(copy);
                            _manifestDirty = true;
                            _swapGeneration++;
                        }
                    }
                    finally
                    {
                        _lock.ExitWriteLock();
                    }

                    DeleteSegmentFiles(_directory, id);
                    throw;
                }
            }

            // on_disk payloads: the segment is complete and persisted either way; if mapping its file fails, it serves
            // its payloads from memory and a payload_placement job tries again later.
            if (indexing.PayloadsOnDisk)
            {
                try
                {
                    PlacePayloads(copy, id, mapped: true);
                }
#pragma warning disable CA1031 // Whatever failed, the payloads in memory are intact.
                catch (Exception ex) when (ex is not OperationCanceledException)
#pragma warning restore CA1031
                {
                    EngineLog.OptimizationFailed(_logger, ex, _directory, PlacePayloadsKind);
                    Interlocked.Exchange(ref _lastFailureTicks, DateTimeOffset.UtcNow.UtcTicks);
                }
            }

            // Codes are derived data: a segment whose file is missing gets them again from the optimizer after a restart.
            try
            {
                WriteCodes(id, codes);
            }
#pragma warning disable CA1031 // The segment serves on with its codes in memory; the file is only a shortcut at start-up.
            catch (Exception ex) when (ex is not OperationCanceledException)
#pragma warning restore CA1031
            {
                EngineLog.CodesWriteFailed(_logger, ex, _directory);
            }

            // The sketches only speed up exact scans, and a segment without its sketch file loads without one: they are
            // built and written after the flush gate is released, while the segment already serves.
            try
            {
                BuildSketches(copy, id, graphs, indexing, token);
            }
#pragma warning disable CA1031 // A sketch only saves reads: the segment serves without it.
            catch (Exception ex) when (ex is not OperationCanceledException)
#pragma warning restore CA1031
            {
                EngineLog.SketchFailed(_logger, ex, _directory);
            }

            // Payload graphs likewise: until they are attached, filters on a value walk the main graph (or scan).
            try
            {
                BuildPayloadGraphs(copy, id, indexing, token);
            }
#pragma warning disable CA1031 // Payload graphs only speed up filtered searches: the segment serves without them.
            catch (Exception ex) when (ex is not OperationCanceledException)
#pragma warning restore CA1031
            {
                EngineLog.PayloadGraphsFailed(_logger, ex, _directory);
            }

            EngineLog.OptimizationDone(_logger, _directory, job.Kind, total, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
        finally
        {
            // Renamed with the segment's files on success (a compact space's float32 stage is rewritten compact and
            // left behind); otherwise a full copy of its rows to remove.
            DeleteStaged(staged);
        }
    }

    /// <summary>Replaces the job's sources with the rebuilt segment, carrying over deletes made while it was built.</summary>
    private void Swap(OptimizationJob job, PointSegment copy, long id)
    {
        _lock.EnterWriteLock();
        try
        {
            var next = 0;
            foreach (var (source, offsets) in job.Parts)
            {
                foreach (var offset in offsets)
                {
                    if (!source.IsLiveAt(offset))
                        copy.DeleteOffset(next);
                    next++;
                }
            }

            copy.Indexes.SyncWith(_set.Appendable.Indexes, copy);
            _set = _set.Replace(job.Parts.Select(p => p.Source).ToHashSet(), copy);
            lock (_flushState)
            {
                foreach (var (source, _) in job.Parts)
                {
                    if (_persistedSegments.Remove(source, out var oldId))
                        _obsoleteSegmentIds.Add(oldId);
                    if (_chunkedSegments.Remove(source, out var rows))
                        _obsoleteSegmentIds.Add(rows.Id);
                }

                _persistedSegments[copy] = id;
                _manifestDirty = true;
                // A flush that serialised state before this swap must leave the manifest dirty.
                _swapGeneration++;
            }
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>Counts graph insertions for the progress report.</summary>
    private sealed class DoneCounter(Shard shard) : IProgress<int>
    {
        public void Report(int value) => Interlocked.Exchange(ref shard._optimizerDone, value);
    }
}
