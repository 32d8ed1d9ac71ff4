using System.Runtime.InteropServices;
using Quiver.Index.Mapping;
using Quiver.Kernels;
using Quiver.Segment.Segments;

namespace Quiver.Segment.Internal;

/// <summary>
/// A sealed space's rows in a compact datatype (float16, uint8): in huge-page memory, or mapped from its vector file.
/// Kernels read them widened to float32 (<see cref="IRowScoreKernel{TElement}"/>). Native memory is freed by the
/// finalizer once nothing references the rows, so a reader holding them keeps them valid.
/// </summary>
internal sealed unsafe class CompactRows
{
    private readonly byte* _pointer;
    private readonly nuint _allocated;
    private readonly MappedFileRegion? _region;

    private CompactRows(VectorDatatype datatype, byte* pointer, int length, nuint allocated, MappedFileRegion? region)
    {
        Datatype = datatype;
        _pointer = pointer;
        Length = length;
        _allocated = allocated;
        _region = region;
        if (allocated > 0)
            GC.AddMemoryPressure((long)allocated);
    }

    ~CompactRows()
    {
        if (_allocated > 0)
        {
            NativeMemory.AlignedFree(_pointer);
            GC.RemoveMemoryPressure((long)_allocated);
        }
    }

    public VectorDatatype Datatype { get; }

    /// <summary>Values (components over every row).</summary>
    public int Length { get; }

    private int ElementBytes => Datatype == VectorDatatype.Float16 ? 2 : 1;

    /// <summary>
    /// <paramref name="count"/> stored values from value <paramref name="start"/> on, as bytes (as a vector file holds
    /// them); the whole rows may be past a span's 2 GiB, so callers take them in chunks.
    /// </summary>
    public ReadOnlySpan<byte> BytesOf(long start, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (start + count > Length)
            throw new ArgumentOutOfRangeException(nameof(count), $"values [{start}, {start + count}) of {Length}");
        return new(_pointer + (start * ElementBytes), checked(count * ElementBytes));
    }

    /// <summary>Whether the rows are left in their file, mapped.</summary>
    public bool IsMapped => _region is not null;

    public ReadOnlySpan<Half> Halves => Datatype == VectorDatatype.Float16 ? new(_pointer, Length) : throw new InvalidOperationException($"rows are {Datatype}");

    public ReadOnlySpan<byte> Octets => Datatype == VectorDatatype.UInt8 ? new(_pointer, Length) : throw new InvalidOperationException($"rows are {Datatype}");

    public long ResidentBytes => (long)_allocated;

    public long MappedBytes => _region is null ? 0 : (long)Length * ElementBytes;

    /// <summary>Float32 values converted (they must hold the datatype's values exactly: rounded on insert).</summary>
    public static CompactRows Convert(ReadOnlySpan<float> values, VectorDatatype datatype)
    {
        var rows = Allocate(values.Length, datatype);
        if (datatype == VectorDatatype.Float16)
            CompactValues.ToHalf(values, new Span<Half>(rows._pointer, values.Length));
        else
            CompactValues.ToByte(values, new Span<byte>(rows._pointer, values.Length));
        return rows;
    }

    /// <summary>A copy of <paramref name="length"/> stored values at <paramref name="source"/> (as a vector file holds them).</summary>
    public static CompactRows Copy(byte* source, int length, VectorDatatype datatype)
    {
        var rows = Allocate(length, datatype);
        Buffer.MemoryCopy(source, rows._pointer, (long)length * rows.ElementBytes, (long)length * rows.ElementBytes);
        return rows;
    }

    /// <summary>The <paramref name="length"/> values at byte <paramref name="byteOffset"/> of <paramref name="region"/>, left there.</summary>
    public static CompactRows Map(MappedFileRegion region, long byteOffset, int length, VectorDatatype datatype)
    {
        var elementBytes = datatype == VectorDatatype.Float16 ? 2 : 1;
        if (byteOffset < 0 || length < 0 || byteOffset + ((long)length * elementBytes) > region.Length)
            throw new ArgumentOutOfRangeException(nameof(length), "the rows lie outside the mapped region");
        return new CompactRows(datatype, region.Pointer + byteOffset, length, 0, region);
    }

    private static CompactRows Allocate(int length, VectorDatatype datatype)
    {
        if (datatype == VectorDatatype.Float32)
            throw new ArgumentException("float32 rows are not compact", nameof(datatype));
        var bytes = (nuint)Math.Max(1, length) * (nuint)(datatype == VectorDatatype.Float16 ? 2 : 1);
        // Rows under half a huge page get plain memory of their own size: rounding them up would cost more than
        // the TLB misses it saves.
        if (bytes < HugePages.Size / 2)
            return new CompactRows(datatype, (byte*)NativeMemory.AlignedAlloc(bytes, 64), length, bytes, null);
        var pointer = (byte*)HugePages.Allocate(bytes, out var allocated);
        return new CompactRows(datatype, pointer, length, allocated, null);
    }

    /// <summary>Row values [<paramref name="start"/>, start + destination.Length) widened to float32.</summary>
    public void Widen(int start, Span<float> destination)
    {
        if (Datatype == VectorDatatype.Float16)
            CompactValues.Widen(Halves.Slice(start, destination.Length), destination);
        else
            CompactValues.Widen(Octets.Slice(start, destination.Length), destination);
        GC.KeepAlive(this);
    }
}
