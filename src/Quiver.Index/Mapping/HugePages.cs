using System.Runtime.InteropServices;

namespace Quiver.Index.Mapping;

/// <summary>
/// Native memory aligned to 2 MiB and advised as transparent huge pages (Linux <c>madvise</c>), for data a search
/// reads all over (graph links, sealed vectors): with the data in the cache, the TLB misses of 4 KiB pages are what
/// is left to wait for. Pages are backed only once written. Free with <see cref="NativeMemory.AlignedFree"/>.
/// </summary>
public static unsafe partial class HugePages
{
    /// <summary>Bytes of one huge page.</summary>
    public const nuint Size = 2 * 1024 * 1024;

    private const int MadvHugePage = 14;

    /// <summary>At least <paramref name="bytes"/>, rounded up to whole huge pages (<paramref name="allocated"/>), not initialised.</summary>
    public static void* Allocate(nuint bytes, out nuint allocated)
    {
        allocated = (Math.Max(bytes, 1) + Size - 1) & ~(Size - 1);
        var pointer = NativeMemory.AlignedAlloc(allocated, Size);
        if (OperatingSystem.IsLinux())
            _ = Madvise((nint)pointer, allocated, MadvHugePage); // advice only: without huge pages it still works
        return pointer;
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(nint address, nuint length, int advice);
}
