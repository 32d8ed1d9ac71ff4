namespace Quiver.Storage.Files;

/// <summary>The verified contents of a <see cref="ChecksummedFile"/>: the format version it was written with and its body.</summary>
public sealed record ChecksummedFileContent(ushort Version, ReadOnlyMemory<byte> Body);
