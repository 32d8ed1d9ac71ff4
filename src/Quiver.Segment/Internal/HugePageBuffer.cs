using System.Runtime.InteropServices;

namespace Quiver.Segment.Internal;

/// <summary>
/// Native float storage aligned to 2 MiB and advised as transparent huge pages (Linux <c>madvise</c>): a graph walk
/// touches rows all over the buffer, and huge pages cut the TLB misses that dominate it. Freed by the finalizer
/// once nothing references it, so a segment swapped out while a reader still holds it stays valid.
/// </summary>
internal sealed unsafe partial class HugePageBuffer : IFrozenRows
{
    private const nuint HugePage = 2 * 1024 * 1024;
    private const int MadvHugePage = 14;
    private readonly float* _pointer;
    private readonly nuint _bytes;

    public HugePageBuffer(ReadOnlySpan<float> source)
        : this(source.Length)
    {
        source.CopyTo(Writable);
    }

    /// <summary>
    /// Room for <paramref name="length"/> floats, not initialised: pages are backed (as huge pages where the kernel
    /// can) only once written.
    /// </summary>
    public HugePageBuffer(int length)
    {
        Length = length;
        _bytes = (((nuint)Math.Max(1, length) * sizeof(float)) + HugePage - 1) & ~(HugePage - 1);
        _pointer = (float*)NativeMemory.AlignedAlloc(_bytes, HugePage);
        if (OperatingSystem.IsLinux())
            _ = Madvise((nint)_pointer, _bytes, MadvHugePage); // advice only: without huge pages it still works
        GC.AddMemoryPressure((long)_bytes);
    }

    ~HugePageBuffer()
    {
        NativeMemory.AlignedFree(_pointer);
        GC.RemoveMemoryPressure((long)_bytes);
    }

    public int Length { get; }

    public long Bytes => (long)_bytes;

    public ReadOnlySpan<float> Span => new(_pointer, Length);

    /// <summary>The floats for writing; only the owner that hands out no reader for a row yet writes it.</summary>
    public Span<float> Writable => new(_pointer, Length);

    /// <summary>The floats as memory, for work that outlives a call (sketching the rows); keeps the buffer alive.</summary>
    public ReadOnlyMemory<float> Memory => new NativeFloatMemory(this, _pointer, Length).Memory;

    public long ResidentBytes => Bytes;

    public long MappedBytes => 0;

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(nint address, nuint length, int advice);
}
