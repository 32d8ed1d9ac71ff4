using System.Collections.Concurrent;
using System.Threading.Tasks.Sources;

namespace Quiver.Storage.Wal;

/// <summary>
/// One queued append (a single record or a batch) and the pooled awaitable its caller waits on. Returned to the pool
/// when the caller consumes the result, so steady-state appends allocate nothing here.
/// </summary>
internal sealed class PendingAppend : IValueTaskSource<ulong>
{
    private const int MaxPooled = 1024;
    private static readonly ConcurrentQueue<PendingAppend> Pool = new();
    private static int _pooledCount;

    private ManualResetValueTaskSourceCore<ulong> _core = new() { RunContinuationsAsynchronously = true };

    public ReadOnlyMemory<byte> Single { get; private set; }

    public IReadOnlyList<ReadOnlyMemory<byte>>? Batch { get; private set; }

    public CancellationToken CancellationToken { get; private set; }

    public int Count => Batch?.Count ?? 1;

    public short Version => _core.Version;

    public ReadOnlyMemory<byte> this[int index] => Batch is null ? Single : Batch[index];

    public static PendingAppend Rent(ReadOnlyMemory<byte> single, IReadOnlyList<ReadOnlyMemory<byte>>? batch, CancellationToken cancellationToken)
    {
        if (Pool.TryDequeue(out var op))
        {
            _ = Interlocked.Decrement(ref _pooledCount);
        }
        else
        {
            op = new PendingAppend();
        }

        op.Single = single;
        op.Batch = batch;
        op.CancellationToken = cancellationToken;
        return op;
    }

    public void SetResult(ulong firstSequence) => _core.SetResult(firstSequence);

    public void SetException(Exception exception) => _core.SetException(exception);

    public ulong GetResult(short token)
    {
        try
        {
            return _core.GetResult(token);
        }
        finally
        {
            Recycle();
        }
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    /// <summary>Returns an op that was rented but never handed out as a ValueTask.</summary>
    public void Recycle()
    {
        _core.Reset();
        Single = default;
        Batch = null;
        CancellationToken = default;
        if (Interlocked.Increment(ref _pooledCount) <= MaxPooled)
        {
            Pool.Enqueue(this);
        }
        else
        {
            _ = Interlocked.Decrement(ref _pooledCount);
        }
    }
}
