namespace Quiver.Engine.Shards;

/// <summary>
/// A shard's read lock held for a <c>using</c> block (see <see cref="Shard.EnterRead"/>): <see cref="Set"/> stays
/// consistent until <see cref="Dispose"/>. A ref struct, so it cannot outlive the block or cross an await.
/// </summary>
internal readonly ref struct ShardReadScope
{
    private readonly ReaderWriterLockSlim _lock;

    internal ShardReadScope(ReaderWriterLockSlim readLock, SegmentSet set)
    {
        _lock = readLock;
        Set = set;
    }

    public SegmentSet Set { get; }

    public void Dispose() => _lock.ExitReadLock();
}
