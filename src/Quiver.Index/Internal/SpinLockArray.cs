using System.Runtime.CompilerServices;

namespace Quiver.Index.Internal;

/// <summary>
/// One test-and-set spin lock per slot of an <see cref="int"/> array (0 = free, 1 = held): four bytes per node
/// instead of an object per node. Critical sections are short (editing one link list), so spinning is cheap.
/// </summary>
internal static class SpinLockArray
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Enter(int[] locks, int index)
    {
        if (Interlocked.CompareExchange(ref locks[index], 1, 0) != 0)
        {
            EnterContended(locks, index);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Exit(int[] locks, int index) => Volatile.Write(ref locks[index], 0);

    private static void EnterContended(int[] locks, int index)
    {
        var spinner = default(SpinWait);
        while (Volatile.Read(ref locks[index]) != 0 || Interlocked.CompareExchange(ref locks[index], 1, 0) != 0)
        {
            spinner.SpinOnce();
        }
    }
}
