namespace Quiver.Storage.Wal;

/// <summary>One record read back from the log. <see cref="Data"/> is owned by the caller.</summary>
public readonly record struct WalRecord(ulong Sequence, ReadOnlyMemory<byte> Data);
