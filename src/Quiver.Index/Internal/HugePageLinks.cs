using System.Runtime.InteropServices;

namespace Quiver.Index.Internal;

/// <summary>
/// Native memory for a graph's link lists, aligned to 2 MiB and advised as transparent huge pages (Linux
/// <c>madvise</c>) when at least half a huge page: a walk reads lists all over the graph, and with the data in the
/// cache the TLB misses of 4 KiB pages are what is left to wait for. Pages are backed only once written. Freed by the finalizer once the graph
/// (and any walk holding it) lets go.
/// </summary>
internal sealed unsafe partial class HugePageLinks
{
    private const nuint HugePage = 2 * 1024 * 1024;
    private const int MadvHugePage = 14;
    private readonly nuint _bytes;

    /// <summary>
    /// Room for <paramref name="ints"/> ints, zeroed unless <paramref name="uninitialized"/>. Graphs under a huge
    /// page (payload graphs of small values) get plain memory of their own size: rounding them up would multiply it.
    /// </summary>
    public HugePageLinks(long ints, bool uninitialized)
    {
        var used = (nuint)Math.Max(1, ints) * sizeof(int);
        if (used < HugePage / 2)
        {
            _bytes = used;
            Pointer = (int*)NativeMemory.AlignedAlloc(_bytes, 64);
        }
        else
        {
            _bytes = (used + HugePage - 1) & ~(HugePage - 1);
            Pointer = (int*)NativeMemory.AlignedAlloc(_bytes, HugePage);
            if (OperatingSystem.IsLinux())
                _ = Madvise((nint)Pointer, _bytes, MadvHugePage); // advice only: without huge pages it still works
        }

        // Only the links are cleared: the rounding's tail is never touched, so its pages are never backed.
        if (!uninitialized)
            NativeMemory.Clear(Pointer, used);
        GC.AddMemoryPressure((long)_bytes);
    }

    ~HugePageLinks()
    {
        NativeMemory.AlignedFree(Pointer);
        GC.RemoveMemoryPressure((long)_bytes);
    }

    public int* Pointer { get; }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(nint address, nuint length, int advice);
}
