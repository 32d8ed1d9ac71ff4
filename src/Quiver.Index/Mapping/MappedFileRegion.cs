using System.IO.MemoryMappedFiles;

namespace Quiver.Index.Mapping;

/// <summary>
/// A read-only mapping of part of a file (an on-disk graph's links, an on-disk segment's vectors): the OS pages it
/// in as it is read and may evict it under memory pressure. Unmapped when disposed or, failing that, when nothing
/// references it any more, so a reader that still holds the owner keeps the pages valid.
/// </summary>
public sealed unsafe class MappedFileRegion : IDisposable
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private int _released;

    /// <summary>Maps <paramref name="length"/> bytes of the file at <paramref name="path"/> from <paramref name="offset"/>.</summary>
    public MappedFileRegion(string path, long offset, long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        _file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        try
        {
            _view = _file.CreateViewAccessor(offset, length, MemoryMappedFileAccess.Read);
            byte* pointer = null;
            _view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            Pointer = pointer + _view.PointerOffset;
            Length = length;
        }
        catch
        {
            _view?.Dispose();
            _file.Dispose();
            throw;
        }
    }

    ~MappedFileRegion() => Release();

    /// <summary>The first byte of the region (the view may start earlier, at a page boundary).</summary>
    public byte* Pointer { get; }

    public long Length { get; }

    public void Dispose()
    {
        Release();
        GC.SuppressFinalize(this);
    }

    private void Release()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0)
            return;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
    }
}
