namespace Quiver.Engine.Shards;

/// <summary>Callers waiting until the apply loop reaches a sequence number.</summary>
internal sealed class AppliedWaiters
{
    private readonly Lock _gate = new();
    private readonly PriorityQueue<TaskCompletionSource, ulong> _waiting = new();
    private ulong _released;

    public ValueTask WaitAsync(ulong sequence, CancellationToken cancellationToken)
    {
        TaskCompletionSource tcs;
        lock (_gate)
        {
            if (_released >= sequence)
                return ValueTask.CompletedTask;
            if (_closed is { } reason)
                return ValueTask.FromException(Segment.Errors.QuiverException.Unavailable(reason));
            tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiting.Enqueue(tcs, sequence);
        }

        return cancellationToken.CanBeCanceled ? WaitCancellableAsync(tcs, cancellationToken) : new ValueTask(tcs.Task);
    }

    /// <summary>Waits; a cancelled waiter leaves the queue, so callers that give up often leave nothing behind.</summary>
    private async ValueTask WaitCancellableAsync(TaskCompletionSource tcs, CancellationToken cancellationToken)
    {
        try
        {
            await tcs.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            lock (_gate)
                _waiting.Remove(tcs, out _, out _);
            throw;
        }
    }

    /// <summary>Callers waiting now (for tests).</summary>
    internal int Count
    {
        get
        {
            lock (_gate)
                return _waiting.Count;
        }
    }

    /// <summary>
    /// The shard closed: every waiter fails with Unavailable (it may still apply elsewhere; a caller that waited
    /// for visibility here learns it will not see it here), and later waits fail at once.
    /// </summary>
    public void Close(string reason)
    {
        lock (_gate)
        {
            _closed = reason;
            while (_waiting.TryDequeue(out var tcs, out _))
                tcs.TrySetException(Segment.Errors.QuiverException.Unavailable(reason));
        }
    }

    private string? _closed;

    public void Release(ulong applied)
    {
        lock (_gate)
        {
            _released = applied;
            while (_waiting.TryPeek(out var tcs, out var sequence) && sequence <= applied)
            {
                _waiting.Dequeue();
                tcs.TrySetResult();
            }
        }
    }
}
