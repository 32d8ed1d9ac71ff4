using Quiver.Engine.Collections;

namespace Quiver.Engine.Tests.Infrastructure;

internal static class Optimizer
{
    /// <summary>Waits until the collection's optimizer is idle with nothing pending and something indexed.</summary>
    public static async Task WaitIndexedAsync(Collection collection)
    {
        for (var i = 0; i < 600; i++)
        {
            var stats = collection.Stats();
            if (!stats.Optimizing && !stats.OptimizationPending && stats.IndexedVectorsCount > 0)
                return;
            await Task.Delay(50);
        }

        throw new TimeoutException("optimizer did not finish");
    }
}
