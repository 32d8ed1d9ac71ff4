using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using Microsoft.Win32.SafeHandles;
using Quiver.Storage.Internal;

namespace Quiver.Storage.Wal;

/// <summary>
/// On-disk format of the write-ahead log. All integers are little-endian.
/// </summary>
/// <remarks>
/// <para>A log is a directory of segment files named <c>wal-{firstSequence:D20}.log</c>. Each file starts with a
/// 20-byte header:</para>
/// <code>
/// offset size field
///      0    4 magic          "QWAL"
///      4    2 version        format version, currently 1
///      6    2 flags          reserved, 0
///      8    8 first sequence sequence number of the first record in this file (must match the file name)
///     16    4 header crc     CRC-32C of header bytes 0..15
/// </code>
/// <para>followed by records, back to back, each a 16-byte record header and the data:</para>
/// <code>
/// offset size field
///      0    4 length         number of data bytes (0 .. MaxRecordBytes)
///      4    8 sequence       this record's sequence number
///     12    4 crc            CRC-32C over the 8 sequence bytes followed by the data bytes
///     16    n data
/// </code>
/// <para>Sequences start at 1 and are contiguous within a file and across files. New segment files are created as
/// <c>.tmp</c>, fsynced and renamed, so a file with a final name always has a complete header.</para>
/// </remarks>
internal static class WalFormat
{
    public const int SegmentHeaderSize = 20;
    public const int RecordHeaderSize = 16;
    public const ushort FormatVersion = 1;
    public const string FilePrefix = "wal-";
    public const string FileSuffix = ".log";
    public const string TempSuffix = ".tmp";

    private const uint Magic = 0x4C415751; // "QWAL" read as little-endian uint32

    public static string SegmentFileName(ulong firstSequence) =>
        string.Create(CultureInfo.InvariantCulture, $"{FilePrefix}{firstSequence:D20}{FileSuffix}");

    public static bool TryParseSegmentFileName(string fileName, out ulong firstSequence)
    {
        firstSequence = 0;
        return fileName.Length == FilePrefix.Length + 20 + FileSuffix.Length
            && fileName.StartsWith(FilePrefix, StringComparison.Ordinal)
            && fileName.EndsWith(FileSuffix, StringComparison.Ordinal)
            && ulong.TryParse(fileName.AsSpan(FilePrefix.Length, 20), NumberStyles.None, CultureInfo.InvariantCulture, out firstSequence);
    }

    public static void WriteSegmentHeader(Span<byte> destination, ulong firstSequence)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[4..], FormatVersion);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[6..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], firstSequence);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[16..], Crc32CChecksum.Compute(destination[..16]));
    }

    /// <summary>Reads and validates a segment header from the start of <paramref name="stream"/>; returns its first sequence.</summary>
    public static ulong ReadSegmentHeader(Stream stream, string path)
    {
        Span<byte> header = stackalloc byte[SegmentHeaderSize];
        var read = stream.ReadAtLeast(header, SegmentHeaderSize, throwOnEndOfStream: false);
        if (read < SegmentHeaderSize)
        {
            throw new WalCorruptionException(path, 0, $"segment header incomplete ({read} of {SegmentHeaderSize} bytes)");
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(header) != Magic)
        {
            throw new WalCorruptionException(path, 0, "bad magic, not a Quiver WAL segment");
        }

        if (Crc32CChecksum.Compute(header[..16]) != BinaryPrimitives.ReadUInt32LittleEndian(header[16..]))
        {
            throw new WalCorruptionException(path, 16, "segment header checksum mismatch");
        }

        var version = BinaryPrimitives.ReadUInt16LittleEndian(header[4..]);
        if (version != FormatVersion)
        {
            throw new WalCorruptionException(path, 4, $"unsupported WAL format version {version} (this build reads version {FormatVersion})");
        }

        return BinaryPrimitives.ReadUInt64LittleEndian(header[8..]);
    }

    public static uint RecordCrc(ulong sequence, ReadOnlySpan<byte> data) =>
        Crc32CChecksum.End(Crc32CChecksum.Update(Crc32CChecksum.Update(Crc32CChecksum.Begin(), sequence), data));

    public static void WriteRecordHeader(Span<byte> destination, ulong sequence, ReadOnlySpan<byte> data)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)data.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[4..], sequence);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[12..], RecordCrc(sequence, data));
    }

    /// <summary>
    /// Reads the record at the current position of <paramref name="stream"/> (which is <paramref name="offset"/>).
    /// On <see cref="RecordStatus.Ok"/> the data is in <paramref name="buffer"/>[0..length]; with
    /// <paramref name="exactBuffer"/> a fresh array of exactly the record's length is allocated (the caller keeps it),
    /// otherwise <paramref name="buffer"/> is reused and grown as needed.
    /// </summary>
    public static RecordStatus ReadRecord(
        Stream stream, long offset, long fileLength, ulong expectedSequence, bool exactBuffer, ref byte[] buffer, out int length)
    {
        length = 0;
        Span<byte> header = stackalloc byte[RecordHeaderSize];
        var read = stream.ReadAtLeast(header, RecordHeaderSize, throwOnEndOfStream: false);
        if (read == 0)
        {
            return RecordStatus.EndOfFile;
        }

        if (read < RecordHeaderSize)
        {
            return RecordStatus.Truncated;
        }

        var dataLength = BinaryPrimitives.ReadUInt32LittleEndian(header);
        var sequence = BinaryPrimitives.ReadUInt64LittleEndian(header[4..]);
        var crc = BinaryPrimitives.ReadUInt32LittleEndian(header[12..]);
        if (dataLength > WriteAheadLog.MaxRecordBytes)
        {
            return RecordStatus.LengthOutOfRange;
        }

        if (offset + RecordHeaderSize + dataLength > fileLength)
        {
            return RecordStatus.Truncated;
        }

        var len = (int)dataLength;
        if (exactBuffer)
        {
            buffer = len == 0 ? [] : GC.AllocateUninitializedArray<byte>(len);
        }
        else if (buffer.Length < len)
        {
            buffer = new byte[Math.Max(len, buffer.Length * 2)];
        }

        if (stream.ReadAtLeast(buffer.AsSpan(0, len), len, throwOnEndOfStream: false) < len)
        {
            return RecordStatus.Truncated;
        }

        if (RecordCrc(sequence, buffer.AsSpan(0, len)) != crc)
        {
            return RecordStatus.ChecksumMismatch;
        }

        if (sequence != expectedSequence)
        {
            return RecordStatus.SequenceMismatch;
        }

        length = len;
        return RecordStatus.Ok;
    }

    /// <summary>
    /// Looks for any complete, checksum-valid record with a sequence above <paramref name="lastGoodSequence"/> starting
    /// at any byte offset in [<paramref name="from"/>, <paramref name="fileLength"/>). Used to tell a torn tail (nothing
    /// valid follows) from real corruption (valid records follow). Returns the offset found or -1.
    /// </summary>
    public static long FindValidRecordAfter(SafeFileHandle handle, long from, long fileLength, ulong lastGoodSequence)
    {
        const int Window = 1 << 20;
        var maxSequence = lastGoodSequence + 1 + (ulong)((fileLength - from) / RecordHeaderSize);
        var window = ArrayPool<byte>.Shared.Rent(Window + RecordHeaderSize);
        var data = ArrayPool<byte>.Shared.Rent(4096);
        try
        {
            var position = from;
            while (position + RecordHeaderSize <= fileLength)
            {
                var toRead = (int)Math.Min(Window + RecordHeaderSize - 1, fileLength - position);
                var filled = ReadFully(handle, window.AsSpan(0, toRead), position);
                var candidates = filled - RecordHeaderSize + 1;
                if (candidates <= 0)
                {
                    break;
                }

                for (var k = 0; k < candidates; k++)
                {
                    var header = window.AsSpan(k, RecordHeaderSize);
                    var sequence = BinaryPrimitives.ReadUInt64LittleEndian(header[4..]);
                    if (sequence <= lastGoodSequence || sequence > maxSequence)
                    {
                        continue;
                    }

                    var dataLength = BinaryPrimitives.ReadUInt32LittleEndian(header);
                    var at = position + k;
                    if (dataLength > WriteAheadLog.MaxRecordBytes || at + RecordHeaderSize + dataLength > fileLength)
                    {
                        continue;
                    }

                    var len = (int)dataLength;
                    if (data.Length < len)
                    {
                        ArrayPool<byte>.Shared.Return(data);
                        data = ArrayPool<byte>.Shared.Rent(len);
                    }

                    if (ReadFully(handle, data.AsSpan(0, len), at + RecordHeaderSize) == len
                        && RecordCrc(sequence, data.AsSpan(0, len)) == BinaryPrimitives.ReadUInt32LittleEndian(header[12..]))
                    {
                        return at;
                    }
                }

                position += candidates;
            }

            return -1;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(window);
            ArrayPool<byte>.Shared.Return(data);
        }
    }

    public static string Describe(RecordStatus status) => status switch
    {
        RecordStatus.Truncated => "record incomplete (torn write)",
        RecordStatus.LengthOutOfRange => "record length out of range",
        RecordStatus.ChecksumMismatch => "record checksum mismatch",
        RecordStatus.SequenceMismatch => "record has a valid checksum but an unexpected sequence number",
        RecordStatus.EndOfFile => "unexpected end of segment",
        RecordStatus.Ok => "ok",
        _ => status.ToString(),
    };

    private static int ReadFully(SafeFileHandle handle, Span<byte> destination, long offset)
    {
        var total = 0;
        while (total < destination.Length)
        {
            var n = RandomAccess.Read(handle, destination[total..], offset + total);
            if (n == 0)
            {
                break;
            }

            total += n;
        }

        return total;
    }
}

internal enum RecordStatus
{
    Ok,
    EndOfFile,
    Truncated,
    LengthOutOfRange,
    ChecksumMismatch,
    SequenceMismatch,
}
