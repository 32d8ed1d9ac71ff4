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
    private volatile ShardOptimizerStatus _optimizerStatus = new(false, false, null, 0, 0, null);
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(30);
    private long _optimizerDone;
    private DateTimeOffset _lastFailure = DateTimeOffset.MinValue;

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
    /// The optimizer runs on its own thread at background priority (it and its build workers yield the cores to
    /// queries and writes), so a long index build never lifts query latency much.
    /// </summary>
    private Task StartOptimizerThread()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            BackgroundPriority.LowerCurrentThread();
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
        while (!_stopping.IsCancellationRequested)
        {
            _optimizerSignal.Wait(_stopping.Token);
            Interlocked.Exchange(ref _optimizerSignaled, 0);
            while (!_stopping.IsCancellationRequested)
            {
                OptimizationJob? job;
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
                    break;
                try
                {
                    Run(job);
                }
                catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
                {
                    return;
                }
#pragma warning disable CA1031 // An optimizer failure leaves the sealed segments serving; it is logged and retried on the next signal.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    EngineLog.OptimizationFailed(_logger, ex, _directory, job.Kind);
                    _lastFailure = DateTimeOffset.UtcNow;
                    break;
                }
                finally
                {
                    _optimizerStatus = new(false, false, null, 0, 0, null);
                }
            }
        }
    }

    private sealed record OptimizationJob(string Kind, (PointSegment Source, int[] Offsets)[] Parts);

    /// <summary>
    /// Picks the next job. Indexing seals the appendable segment (a fresh one takes writes from here on); vacuum
    /// rebuilds an indexed segment whose deleted share passed the bound. With <paramref name="dryRun"/> nothing changes.
    /// </summary>
    private OptimizationJob? PlanLocked(ShardIndexing indexing, bool dryRun)
    {
        var appendable = _set.Appendable;
        if (indexing.IndexingThresholdKb > 0 && appendable.LiveCount > 0 && VectorKb(appendable) >= indexing.IndexingThresholdKb)
        {
            if (dryRun)
                return new OptimizationJob("indexing", []);
            var offsets = appendable.Seal();
            var fresh = new PointSegment(_spaces);
            fresh.Indexes.SyncWith(appendable.Indexes, fresh);
            _set = _set.WithNewAppendable(fresh);
            return Started(new OptimizationJob("indexing", [(appendable, offsets)]));
        }

        // A sealed segment that is neither indexed nor being indexed: an earlier job failed. Retry, not too often.
        foreach (var segment in _set.Segments)
        {
            if (segment.IsSealed && !_persistedSegments.ContainsKey(segment) && segment != appendable
                && DateTimeOffset.UtcNow - _lastFailure > RetryDelay)
            {
                return dryRun ? new OptimizationJob("indexing", []) : Started(new OptimizationJob("indexing", [(segment, [.. segment.LiveOffsets()])]));
            }
        }

        // One job runs at a time per shard, so every sealed segment here is settled.
        foreach (var segment in _set.Segments)
        {
            if (!segment.IsSealed || segment.UsedSlots < indexing.VacuumMinVectorNumber)
                continue;
            var deletedShare = 1.0 - ((double)segment.LiveCount / segment.UsedSlots);
            if (deletedShare > indexing.DeletedThreshold)
                return dryRun ? new OptimizationJob("vacuum", []) : Started(new OptimizationJob("vacuum", [(segment, [.. segment.LiveOffsets()])]));
        }

        return null;
    }

    // Marked running while the write lock is still held, so no reader sees the sealed segment as neither pending
    // nor in progress.
    private OptimizationJob Started(OptimizationJob job)
    {
        Interlocked.Exchange(ref _optimizerDone, 0);
        _optimizerStatus = new(true, false, job.Kind, job.Parts.Sum(p => p.Offsets.Length), 0, DateTimeOffset.UtcNow);
        return job;
    }

    private long VectorKb(PointSegment segment)
    {
        long bytes = 0;
        for (var s = 0; s < _spaces.Count; s++)
            bytes += (long)segment.VectorCount(s) * _spaces[s].Dimension * sizeof(float);
        return bytes / 1024;
    }

    private void Run(OptimizationJob job)
    {
        var total = job.Parts.Sum(p => p.Offsets.Length);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var token = _stopping.Token;
        var indexing = Indexing;

        var copy = PointSegment.CopyOf(job.Parts, token);
        var options = new HnswBuildOptions { M = indexing.M, EfConstruct = indexing.EfConstruct, Threads = indexing.BuildThreads, Background = true };
        var graphs = new HnswGraph?[_spaces.Count];
        for (var s = 0; s < _spaces.Count; s++)
        {
            if (copy.VectorCount(s) == 0)
                continue;
            var rows = copy.VectorRows(s);
            var counter = new DoneCounter(this);
            graphs[s] = _spaces[s].Metric switch
            {
                VectorMetric.Dot => HnswGraph.Build<DotKernel>(rows, _spaces[s].Dimension, copy.UsedSlots, options, counter, token),
                VectorMetric.NegSquaredL2 => HnswGraph.Build<NegSquaredL2Kernel>(rows, _spaces[s].Dimension, copy.UsedSlots, options, counter, token),
                _ => HnswGraph.Build<NegL1Kernel>(rows, _spaces[s].Dimension, copy.UsedSlots, options, counter, token),
            };
            copy.AttachGraph(s, graphs[s]!);
        }

        // Files first, swap second: a manifest written after the swap may only reference complete files.
        var id = Interlocked.Increment(ref _nextSegmentId);
        WriteIndexedSegment(id, copy, graphs);

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

        EngineLog.OptimizationDone(_logger, _directory, job.Kind, total, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);
    }

    /// <summary>Counts graph insertions for the progress report.</summary>
    private sealed class DoneCounter(Shard shard) : IProgress<int>
    {
        public void Report(int value) => Interlocked.Exchange(ref shard._optimizerDone, value);
    }
}
