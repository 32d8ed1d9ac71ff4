using Quiver.Engine.Shards;

namespace Quiver.Engine.Tests.Shards;

public sealed class AppliedWaitersTests
{
    [Fact]
    public async Task A_cancelled_waiter_leaves_the_queue_and_the_others_are_released_in_order()
    {
        var waiters = new AppliedWaiters();
        using var cancel = new CancellationTokenSource();
        var gaveUp = waiters.WaitAsync(10, cancel.Token).AsTask();
        var first = waiters.WaitAsync(5, CancellationToken.None).AsTask();
        var second = waiters.WaitAsync(8, CancellationToken.None).AsTask();
        Assert.Equal(3, waiters.Count);

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => gaveUp);
        Assert.Equal(2, waiters.Count);

        waiters.Release(5);
        await first;
        Assert.False(second.IsCompleted);
        Assert.Equal(1, waiters.Count);
        waiters.Release(8);
        await second;
        Assert.Equal(0, waiters.Count);
        Assert.True(waiters.WaitAsync(7, CancellationToken.None).IsCompleted);
    }
}
