using System.Runtime.InteropServices;

namespace Quiver.Index.Threading;

/// <summary>
/// Lowers the scheduling priority of the calling thread (Linux nice, per thread), so index builds and other
/// background work yield the cores to queries and writes. Use it only on threads that exist for background work:
/// an unprivileged process cannot raise a thread's priority back.
/// </summary>
public static partial class BackgroundPriority
{
    /// <summary>nice 10: about a tenth of a normal thread's share when both want the same core.</summary>
    public const int Nice = 10;

    public static void LowerCurrentThread()
    {
        if (!OperatingSystem.IsLinux())
            return;
        try
        {
            _ = SetPriority(0 /* PRIO_PROCESS: with a thread id, that thread */, GetTid(), Nice);
        }
        catch (EntryPointNotFoundException)
        {
            // An old libc without gettid: the work still runs, at normal priority.
        }
    }

    [LibraryImport("libc", EntryPoint = "setpriority")]
    private static partial int SetPriority(int which, int who, int priority);

    [LibraryImport("libc", EntryPoint = "gettid")]
    private static partial int GetTid();
}
