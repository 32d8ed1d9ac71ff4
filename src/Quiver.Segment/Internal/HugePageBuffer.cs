using System.Runtime.InteropServices;
using Quiver.Index.Mapping;

namespace Quiver.Segment.Internal;

/// <summary>
/// Native float storage in huge pages (<see cref="HugePages"/>): a graph walk touches rows all over the buffer, and
/// huge pages cut the TLB misses that dominate it. Freed by the finalizer
/// once nothing references it, so a segment swapped out while a reader still holds it stays valid.
/// </summary>
internal sealed unsafe class HugePageBuffer : IFrozenRows
{
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
        _pointer = (float*)HugePages.Allocate((nuint)Math.Max(1, length) * sizeof(float), out _bytes);
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
}
