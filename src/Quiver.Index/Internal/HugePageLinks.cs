using System.Runtime.InteropServices;

namespace Quiver.Index.Internal;

/// <summary>
/// Native memory for a graph's link lists, aligned to 2 MiB and advised as transparent huge pages (Linux
/// <c>madvise</c>): a walk reads lists all over the graph, and with the data in the cache the TLB misses of 4 KiB
/// pages are what is left to wait for. Pages are backed only once written. Freed by the finalizer once the graph
/// (and any walk holding it) lets go.
/// </summary>
internal sealed unsafe partial class HugePageLinks
{
    private const nuint HugePage = 2 * 1024 * 1024;
    private const int MadvHugePage = 14;
    private readonly nuint _bytes;

    /// <summary>Room for <paramref name="ints"/> ints, zeroed unless <paramref name="uninitialized"/>.</summary>
    public HugePageLinks(long ints, bool uninitialized)
    {
        _bytes = (((nuint)Math.Max(1, ints) * sizeof(int)) + HugePage - 1) & ~(HugePage - 1);
        Pointer = (int*)NativeMemory.AlignedAlloc(_bytes, HugePage);
        if (OperatingSystem.IsLinux())
            _ = Madvise((nint)Pointer, _bytes, MadvHugePage); // advice only: without huge pages it still works
        if (!uninitialized)
            NativeMemory.Clear(Pointer, _bytes);
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
