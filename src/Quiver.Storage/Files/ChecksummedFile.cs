using System.Buffers.Binary;
using System.Text;
using Quiver.Storage.Internal;

namespace Quiver.Storage.Files;

/// <summary>
/// Whole-file snapshots of persisted state, replaced atomically and verified on read.
/// </summary>
/// <remarks>
/// <para>File layout (all integers little-endian), 24-byte header followed by the body:</para>
/// <code>
/// offset size field
///      0    4 kind          4 ASCII characters naming what the file holds (e.g. "SEGM", "IDTR")
///      4    2 version       format version of the body, chosen by the caller
///      6    2 flags         reserved, 0
///      8    8 body length   number of body bytes that follow the header
///     16    4 body crc      CRC-32C of the body
///     20    4 header crc    CRC-32C of header bytes 0..19
///     24    n body
/// </code>
/// <para>
/// <see cref="WriteAtomic"/> writes <c>{path}.tmp</c>, fsyncs it, renames it over the target path and fsyncs
/// the directory, so after a crash the path holds either the complete old file or the complete new one. A stale
/// <c>.tmp</c> left by a crash is ignored by <see cref="Read"/> and overwritten by the next write.
/// </para>
/// </remarks>
public static class ChecksummedFile
{
    public const int HeaderSize = 24;

    private const string TempSuffix = ".tmp";

    /// <summary>
    /// Atomically replaces <paramref name="path"/> with a file of the given kind and version whose body is produced by
    /// <paramref name="writeBody"/>. The body is streamed to disk and checksummed on the way; it is never buffered whole.
    /// If <paramref name="writeBody"/> throws, the existing file is left untouched and the temp file is removed.
    /// </summary>
    public static void WriteAtomic(string path, string kind, ushort version, Action<Stream> writeBody)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(writeBody);
        var kindBytes = EncodeKind(kind);

        var fullPath = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(fullPath) ?? throw new ArgumentException("Path has no directory.", nameof(path));
        var tempPath = fullPath + TempSuffix;

        try
        {
            using (var file = new FileStream(tempPath, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0))
            {
                Span<byte> header = stackalloc byte[HeaderSize];
                header.Clear();
                file.Write(header); // placeholder; the real header needs the body length and CRC

                ulong bodyLength;
                uint bodyCrc;
                using (var body = new ChecksummingWriteStream(file))
                {
                    writeBody(body);
                    body.Flush();
                    bodyLength = body.BytesWritten;
                    bodyCrc = body.Crc;
                }

                kindBytes.CopyTo(header);
                BinaryPrimitives.WriteUInt16LittleEndian(header[4..], version);
                BinaryPrimitives.WriteUInt16LittleEndian(header[6..], 0);
                BinaryPrimitives.WriteUInt64LittleEndian(header[8..], bodyLength);
                BinaryPrimitives.WriteUInt32LittleEndian(header[16..], bodyCrc);
                BinaryPrimitives.WriteUInt32LittleEndian(header[20..], Crc32CChecksum.Compute(header[..20]));
                file.Position = 0;
                file.Write(header);
                file.Flush(flushToDisk: true);
            }

            File.Move(tempPath, fullPath, overwrite: true);
        }
        catch
        {
            TryDelete(tempPath);
            throw;
        }

        DirectorySync.Fsync(directory);
    }

    /// <summary>
    /// Reads and verifies a file written by <see cref="WriteAtomic"/>. Throws <see cref="StorageCorruptionException"/>
    /// (with path, offset and reason) if the header or body checksum does not match, the kind differs, the length is
    /// wrong, or the version is newer than <paramref name="maxSupportedVersion"/>.
    /// </summary>
    public static ChecksummedFileContent Read(string path, string kind, ushort maxSupportedVersion)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var kindBytes = EncodeKind(kind);

        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
        var (version, bodyLength, expectedCrc) = ReadHeader(file, path, kind, kindBytes, maxSupportedVersion);
        if (bodyLength > (ulong)Array.MaxLength)
        {
            throw new StorageCorruptionException(path, HeaderSize, $"body of {bodyLength} bytes is too large to load");
        }

        var body = GC.AllocateUninitializedArray<byte>((int)bodyLength);
        file.ReadExactly(body);
        if (Crc32CChecksum.Compute(body) != expectedCrc)
        {
            throw new StorageCorruptionException(path, HeaderSize, "body checksum mismatch");
        }

        return new ChecksummedFileContent(version, body);
    }

    /// <summary>
    /// Verifies a file written by <see cref="WriteAtomic"/> as <see cref="Read"/> does, streaming the body through
    /// the checksum instead of loading it, for files that are then memory-mapped: the body starts at
    /// <see cref="HeaderSize"/>. Returns the body's version and length.
    /// </summary>
    public static (ushort Version, long BodyLength) Verify(string path, string kind, ushort maxSupportedVersion)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var kindBytes = EncodeKind(kind);
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
        var (version, bodyLength, expectedCrc) = ReadHeader(file, path, kind, kindBytes, maxSupportedVersion);
        var buffer = new byte[1 << 20];
        var state = Crc32CChecksum.Begin();
        int read;
        while ((read = file.Read(buffer)) > 0)
            state = Crc32CChecksum.Update(state, buffer.AsSpan(0, read));
        if (Crc32CChecksum.End(state) != expectedCrc)
            throw new StorageCorruptionException(path, HeaderSize, "body checksum mismatch");
        return (version, (long)bodyLength);
    }

    /// <summary>
    /// Verifies a file as <see cref="Verify"/> does, then opens it again for reading at its body: a large body is
    /// read once into its final form rather than loaded whole first. The caller disposes the stream.
    /// </summary>
    public static (ushort Version, Stream Body) OpenVerified(string path, string kind, ushort maxSupportedVersion)
    {
        var (version, bodyLength) = Verify(path, kind, maxSupportedVersion);
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        try
        {
            stream.Seek(HeaderSize, SeekOrigin.Begin);
            if (stream.Length != HeaderSize + bodyLength)
                throw new StorageCorruptionException(path, HeaderSize, "the file changed while it was read");
            return (version, stream);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Reads and checks the header: its checksum, the kind, the version and the body length.</summary>
    private static (ushort Version, ulong BodyLength, uint BodyCrc) ReadHeader(FileStream file, string path, string kind, byte[] kindBytes, ushort maxSupportedVersion)
    {
        var fileLength = file.Length;
        if (fileLength < HeaderSize)
        {
            throw new StorageCorruptionException(path, 0, $"file is {fileLength} bytes, shorter than the {HeaderSize}-byte header");
        }

        Span<byte> header = stackalloc byte[HeaderSize];
        file.ReadExactly(header);
        if (Crc32CChecksum.Compute(header[..20]) != BinaryPrimitives.ReadUInt32LittleEndian(header[20..]))
        {
            throw new StorageCorruptionException(path, 20, "header checksum mismatch");
        }

        if (!header[..4].SequenceEqual(kindBytes))
        {
            throw new StorageCorruptionException(path, 0, $"expected kind '{kind}' but found '{DescribeKind(header[..4])}'");
        }

        var version = BinaryPrimitives.ReadUInt16LittleEndian(header[4..]);
        if (version > maxSupportedVersion)
        {
            throw new StorageCorruptionException(path, 4, $"unsupported format version {version} (this build reads up to {maxSupportedVersion})");
        }

        var bodyLength = BinaryPrimitives.ReadUInt64LittleEndian(header[8..]);
        var actualBody = (ulong)(fileLength - HeaderSize);
        if (bodyLength != actualBody)
        {
            throw new StorageCorruptionException(path, HeaderSize, $"header says the body is {bodyLength} bytes but the file holds {actualBody}");
        }

        return (version, bodyLength, BinaryPrimitives.ReadUInt32LittleEndian(header[16..]));
    }

    private static byte[] EncodeKind(string kind)
    {
        ArgumentNullException.ThrowIfNull(kind);
        if (kind.Length != 4 || !Ascii.IsValid(kind))
        {
            throw new ArgumentException("Kind must be exactly 4 ASCII characters.", nameof(kind));
        }

        return Encoding.ASCII.GetBytes(kind);
    }

    private static string DescribeKind(ReadOnlySpan<byte> bytes)
    {
        var sb = new StringBuilder(8);
        foreach (var b in bytes)
        {
            _ = b is >= 0x20 and < 0x7F ? sb.Append((char)b) : sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"\\x{b:X2}");
        }

        return sb.ToString();
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Write-only pass-through stream that buffers small writes and computes CRC-32C and length of the body.</summary>
    private sealed class ChecksummingWriteStream : Stream
    {
        private const int BufferSize = 128 * 1024;

        private readonly Stream _inner;
        private readonly byte[] _buffer = new byte[BufferSize];
        private int _buffered;
        private uint _crcState = Crc32CChecksum.Begin();

        public ChecksummingWriteStream(Stream inner) => _inner = inner;

        public ulong BytesWritten { get; private set; }

        public uint Crc => Crc32CChecksum.End(_crcState);

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => (long)BytesWritten;
            set => throw new NotSupportedException();
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            _crcState = Crc32CChecksum.Update(_crcState, buffer);
            BytesWritten += (ulong)buffer.Length;
            if (buffer.Length > BufferSize - _buffered)
            {
                FlushBuffer();
                if (buffer.Length >= BufferSize)
                {
                    _inner.Write(buffer);
                    return;
                }
            }

            buffer.CopyTo(_buffer.AsSpan(_buffered));
            _buffered += buffer.Length;
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void WriteByte(byte value) => Write([value]);

        public override void Flush()
        {
            FlushBuffer();
            _inner.Flush();
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        private void FlushBuffer()
        {
            if (_buffered > 0)
            {
                _inner.Write(_buffer, 0, _buffered);
                _buffered = 0;
            }
        }
    }
}
