namespace Quiver.Storage.Wal;

/// <summary>
/// The log on disk is damaged in a way that recovery must not silently repair (corruption before valid records, in a
/// non-last segment, a bad segment header, an unsupported version, or a sequence gap). The message names the file and
/// the byte offset; start-up should stop and an operator decide.
/// </summary>
public sealed class WalCorruptionException : Exception
{
    public WalCorruptionException(string filePath, long offset, string reason)
        : base($"Write-ahead log corrupt in '{filePath}' at byte offset {offset}: {reason}")
    {
        FilePath = filePath;
        Offset = offset;
        Reason = reason;
    }

    public WalCorruptionException(string filePath, long offset, string reason, Exception innerException)
        : base($"Write-ahead log corrupt in '{filePath}' at byte offset {offset}: {reason}", innerException)
    {
        FilePath = filePath;
        Offset = offset;
        Reason = reason;
    }

    public string FilePath { get; }

    public long Offset { get; }

    public string Reason { get; }
}
