namespace Quiver.Storage.Wal;

/// <summary>What <see cref="WriteAheadLog.Open"/> found on disk.</summary>
/// <param name="Segments">Number of segment files after recovery.</param>
/// <param name="RecordsFound">Number of valid records across all segments.</param>
/// <param name="BytesTruncated">Bytes of torn or garbage tail cut from the last segment (0 after a clean shutdown).</param>
/// <param name="TruncatedSegment">The segment that was cut, or null.</param>
/// <param name="TruncatedAtOffset">Byte offset the segment was cut at (the end of its last good record), or -1.</param>
public sealed record WalRecoveryReport(int Segments, ulong RecordsFound, long BytesTruncated, string? TruncatedSegment, long TruncatedAtOffset);
