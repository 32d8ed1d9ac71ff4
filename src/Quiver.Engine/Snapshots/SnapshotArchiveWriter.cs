using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Quiver.Engine.Internal;

namespace Quiver.Engine.Snapshots;

/// <summary>
/// Writes a snapshot file: a POSIX (pax) tar archive of files followed by <c>snapshot.json</c>, which lists every
/// file with its size and SHA-256 (so a reader detects any damaged, missing or added entry) and says what the
/// archive holds, then a trailer with the SHA-256 of the archive. The SHA-256 of the whole file (what its
/// <c>.checksum</c> says) is computed as it is written.
/// </summary>
internal sealed class SnapshotArchiveWriter : IDisposable
{
    private readonly FileStream _file;
    private readonly IncrementalHash _archiveHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly HashingWriteStream _hashing;
    private readonly TarWriter _tar;
    private readonly JsonArray _files = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    public SnapshotArchiveWriter(string path)
    {
        _file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
        _hashing = new HashingWriteStream(_file, _archiveHash);
        _tar = new TarWriter(_hashing, TarEntryFormat.Pax, leaveOpen: true);
    }

    /// <summary>Adds the file at <paramref name="path"/> as <paramref name="entryName"/>.</summary>
    public void AddFile(string entryName, string path)
    {
        if (entryName == SnapshotArchive.ManifestEntry || !_names.Add(entryName))
            throw new InvalidOperationException($"snapshot entry {entryName} added twice");
        using var source = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16);
        var digest = SnapshotArchive.Sha256Hex(source);
        source.Position = 0;
        var entry = new PaxTarEntry(TarEntryType.RegularFile, entryName) { DataStream = source };
        _tar.WriteEntry(entry);
        _files.Add(new JsonObject { ["path"] = entryName, ["size"] = source.Length, ["sha256"] = digest });
    }

    /// <summary>
    /// Writes <c>snapshot.json</c> (<paramref name="header"/> plus the file list), ends the archive, makes it durable
    /// and returns its SHA-256 (lower-case hex).
    /// </summary>
    public string Finish(JsonObject header)
    {
        header["format"] = SnapshotArchive.FormatName;
        header["version"] = SnapshotArchive.FormatVersion;
        header["files"] = _files;
        var body = JsonSerializer.SerializeToUtf8Bytes(header, EngineJsonContext.Default.JsonObject);
        using (var manifest = new MemoryStream(body, writable: false))
            _tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, SnapshotArchive.ManifestEntry) { DataStream = manifest });
        _tar.Dispose();
        // After the tar's end marker (where tar readers stop), the SHA-256 of every byte before it: a reader
        // checks the whole file, padding and metadata included, without a checksum from elsewhere.
        _hashing.Write(SnapshotArchive.Trailer(_archiveHash.GetCurrentHash()));
        _file.Flush(flushToDisk: true);
        return Convert.ToHexStringLower(_archiveHash.GetHashAndReset());
    }

    public void Dispose()
    {
        _tar.Dispose();
        _file.Dispose();
        _archiveHash.Dispose();
    }

    /// <summary>Passes writes through to the file, hashing them on the way.</summary>
    private sealed class HashingWriteStream(Stream inner, IncrementalHash hash) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            hash.AppendData(buffer);
            inner.Write(buffer);
        }

        public override void Flush() => inner.Flush();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
