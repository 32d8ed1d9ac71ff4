using System.Runtime.InteropServices;

namespace Quiver.Index.Internal;

/// <summary>
/// Native memory for a graph's link lists: huge pages (<see cref="Mapping.HugePages"/>) when at least half of one, as a
/// walk reads lists all over the graph. Freed by the finalizer once the graph (and any walk holding it) lets go.
/// </summary>
internal sealed unsafe class HugePageLinks
{
    private readonly nuint _bytes;

    /// <summary>
    /// Room for <paramref name="ints"/> ints, zeroed unless <paramref name="uninitialized"/>. Graphs under a huge
    /// page (payload graphs of small values) get plain memory of their own size: rounding them up would multiply it.
    /// </summary>
    public HugePageLinks(long ints, bool uninitialized)
    {
        var used = (nuint)Math.Max(1, ints) * sizeof(int);
        if (used < Mapping.HugePages.Size / 2)
        {
            _bytes = used;
            Pointer = (int*)NativeMemory.AlignedAlloc(_bytes, 64);
        }
        else
        {
            Pointer = (int*)Mapping.HugePages.Allocate(used, out _bytes);
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
}
