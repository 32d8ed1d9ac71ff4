namespace Quiver.Storage.Wal;

/// <summary>
/// The shard's log takes no more records: its collection was resharded onto new logs. Nothing of the refused append
/// was stored; the write belongs in the collection's new layout.
/// </summary>
public sealed class ShardLogSealedException : Exception
{
    public ShardLogSealedException()
        : base("the shard log is sealed: its collection was resharded")
    {
    }

    public ShardLogSealedException(string message)
        : base(message)
    {
    }

    public ShardLogSealedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
