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
            tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiting.Enqueue(tcs, sequence);
        }

        return new ValueTask(tcs.Task.WaitAsync(cancellationToken));
    }

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
