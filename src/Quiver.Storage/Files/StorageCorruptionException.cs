namespace Quiver.Storage.Files;

/// <summary>
/// A persisted file failed validation (bad magic/kind, unsupported version, length or checksum mismatch).
/// The message names the file, the byte offset of the problem and the reason.
/// </summary>
public sealed class StorageCorruptionException : Exception
{
    public StorageCorruptionException(string filePath, long offset, string reason)
        : base($"Corrupt storage file '{filePath}' at byte offset {offset}: {reason}")
    {
        FilePath = filePath;
        Offset = offset;
        Reason = reason;
    }

    public StorageCorruptionException(string filePath, long offset, string reason, Exception innerException)
        : base($"Corrupt storage file '{filePath}' at byte offset {offset}: {reason}", innerException)
    {
        FilePath = filePath;
        Offset = offset;
        Reason = reason;
    }

    public string FilePath { get; }

    public long Offset { get; }

    public string Reason { get; }
}
