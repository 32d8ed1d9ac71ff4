using System.Buffers;
using Quiver.Index.Mapping;

namespace Quiver.Segment.Internal;

/// <summary>A sealed space's rows held outside the managed heap: in (huge-page) memory, or mapped from a file.</summary>
internal interface IFrozenRows
{
    ReadOnlySpan<float> Span { get; }

    /// <summary>The rows as memory that keeps them valid, for work that outlives a call.</summary>
    ReadOnlyMemory<float> Memory { get; }

    /// <summary>Bytes the process holds for the rows (0 when the file's pages are the OS's to keep or evict).</summary>
    long ResidentBytes { get; }

    /// <summary>Bytes of the file mapped for the rows (0 when they are in memory).</summary>
    long MappedBytes { get; }
}

/// <summary>Rows left in their file, mapped read-only: the OS pages them in as searches read them.</summary>
internal sealed unsafe class MappedRows : IFrozenRows
{
    private readonly float* _pointer;
    private readonly int _length;

    /// <summary>The <paramref name="length"/> floats at byte <paramref name="byteOffset"/> of the region, which this owns from now on.</summary>
    public MappedRows(MappedFileRegion region, long byteOffset, int length)
    {
        if (byteOffset < 0 || length < 0 || byteOffset + ((long)length * sizeof(float)) > region.Length)
            throw new ArgumentOutOfRangeException(nameof(length), "the rows lie outside the mapped region");
        if (((nint)(region.Pointer + byteOffset) & (sizeof(float) - 1)) != 0)
            throw new ArgumentException("mapped rows must be 4-byte aligned", nameof(byteOffset));
        Region = region;
        _pointer = (float*)(region.Pointer + byteOffset);
        _length = length;
    }

    /// <summary>The mapping the rows live in; referenced for as long as the rows are.</summary>
    public MappedFileRegion Region { get; }

    public ReadOnlySpan<float> Span => new(_pointer, _length);

    public ReadOnlyMemory<float> Memory => new NativeFloatMemory(this, _pointer, _length).Memory;

    public long ResidentBytes => 0;

    public long MappedBytes => (long)_length * sizeof(float);
}

/// <summary>Memory over native floats that keeps their owner reachable; disposing it frees nothing (the owner does).</summary>
internal sealed unsafe class NativeFloatMemory(object owner, float* pointer, int length) : MemoryManager<float>
{
    /// <summary>What keeps the floats valid while this memory is in use.</summary>
    public object Owner { get; } = owner;

    public override Span<float> GetSpan() => new(pointer, length);

    public override MemoryHandle Pin(int elementIndex = 0) => new(pointer + elementIndex, default, this);

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
    }
}
