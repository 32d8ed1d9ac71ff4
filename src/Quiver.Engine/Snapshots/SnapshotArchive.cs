using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Quiver.Segment.Errors;

namespace Quiver.Engine.Snapshots;

/// <summary>
/// Reads snapshot files written by <see cref="SnapshotArchiveWriter"/>: every entry is checked against the list in
/// <c>snapshot.json</c> (name, size, SHA-256) while it is extracted, and anything else in the archive (links,
/// directories, names outside the expected layout, entries not listed) makes the whole snapshot refused.
/// </summary>
internal static partial class SnapshotArchive
{
    public const string ManifestEntry = "snapshot.json";
    public const string FormatName = "quiver-snapshot";
    public const int FormatVersion = 1;
    public const string CollectionKind = "collection";
    public const string StorageKind = "storage";
    private const int MaxManifestBytes = 64 * 1024 * 1024;

    /// <summary>Entries of a collection snapshot: one shard's file, <c>shards/{i}/{file}</c>.</summary>
    [GeneratedRegex(@"^shards/[0-9]{1,5}/[A-Za-z0-9_-][A-Za-z0-9._-]{0,200}$", RegexOptions.CultureInvariant)]
    public static partial Regex CollectionEntry();

    /// <summary>Entries of a full-storage snapshot: one collection's snapshot, <c>collections/{name}.snapshot</c>.</summary>
    [GeneratedRegex(@"^collections/[^/\\\x00.][^/\\\x00]{0,254}\.snapshot$", RegexOptions.CultureInvariant)]
    public static partial Regex StorageEntry();

    private const string TrailerPrefix = "QUIVER-SNAPSHOT-SHA256 ";
    private static readonly int TrailerLength = TrailerPrefix.Length + 64 + 1;

    /// <summary>The trailer after the tar's end: <c>QUIVER-SNAPSHOT-SHA256 {hex}\n</c>.</summary>
    public static byte[] Trailer(byte[] archiveHash) =>
        System.Text.Encoding.ASCII.GetBytes(TrailerPrefix + Convert.ToHexStringLower(archiveHash) + "\n");

    /// <summary>Checks the trailer's SHA-256 against every byte before it.</summary>
    private static void VerifyTrailer(FileStream stream)
    {
        var length = stream.Length;
        if (length < TrailerLength + 1024)
            throw Damaged("the file is too short to be a snapshot");
        var trailer = new byte[TrailerLength];
        stream.Position = length - TrailerLength;
        stream.ReadExactly(trailer);
        var text = System.Text.Encoding.ASCII.GetString(trailer);
        if (!text.StartsWith(TrailerPrefix, StringComparison.Ordinal) || text[^1] != '\n')
            throw Damaged("it has no checksum trailer; it is not a Quiver snapshot, or it was cut short");
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        stream.Position = 0;
        var chunk = new byte[1 << 16];
        var left = length - TrailerLength;
        while (left > 0)
        {
            var read = stream.Read(chunk, 0, (int)Math.Min(chunk.Length, left));
            if (read == 0)
                throw Damaged("the file changed while it was read");
            hash.AppendData(chunk, 0, read);
            left -= read;
        }

        if (Convert.ToHexStringLower(hash.GetHashAndReset()) != text[TrailerPrefix.Length..^1])
            throw Damaged("its content does not match its checksum");
        stream.Position = 0;
    }

    public static string Sha256Hex(Stream stream) => Convert.ToHexStringLower(SHA256.HashData(stream));

    /// <summary>The SHA-256 of a whole file, as a snapshot's <c>.checksum</c> holds it.</summary>
    public static string FileSha256(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return Sha256Hex(stream);
    }

    /// <summary>
    /// Extracts the archive at <paramref name="archivePath"/> into <paramref name="targetDir"/> (which must not exist)
    /// and returns its verified <c>snapshot.json</c>. Throws a BadInput <see cref="QuiverException"/> naming the
    /// problem when the file is not a snapshot of <paramref name="kind"/> or any part of it is damaged.
    /// </summary>
    public static JsonObject Extract(string archivePath, string targetDir, string kind)
    {
        var allowed = kind == CollectionKind ? CollectionEntry() : StorageEntry();
        var root = Path.GetFullPath(targetDir) + Path.DirectorySeparatorChar;
        Directory.CreateDirectory(root);
        var extracted = new Dictionary<string, (long Size, string Sha256)>(StringComparer.Ordinal);
        byte[]? manifest = null;
        try
        {
            using var stream = new FileStream(archivePath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            VerifyTrailer(stream);
            using var tar = new TarReader(stream);
            while (tar.GetNextEntry() is { } entry)
            {
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile))
                    throw Damaged($"entry `{entry.Name}` is a {entry.EntryType}, not a regular file");
                if (entry.Name == ManifestEntry)
                {
                    if (manifest is not null || entry.Length > MaxManifestBytes)
                        throw Damaged("more than one snapshot.json, or one too large");
                    manifest = ReadAll(entry.DataStream);
                    continue;
                }

                if (!allowed.IsMatch(entry.Name) || extracted.ContainsKey(entry.Name))
                    throw Damaged($"unexpected entry `{entry.Name}`");
                var destination = Path.GetFullPath(Path.Combine(root, entry.Name));
                if (!destination.StartsWith(root, StringComparison.Ordinal))
                    throw Damaged($"entry `{entry.Name}` points outside the snapshot");
                Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
                extracted[entry.Name] = CopyHashing(entry.DataStream, destination);
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or FormatException or EndOfStreamException or ArgumentException or OverflowException)
        {
            throw Damaged($"the archive cannot be read ({ex.Message})");
        }

        if (manifest is null)
            throw Damaged("it has no snapshot.json; it is not a Quiver snapshot, or it was cut short");
        var header = ParseManifest(manifest, kind);
        try
        {
            CheckListed(header["files"]!.AsArray(), extracted);
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException)
        {
            throw Damaged($"snapshot.json lists its files wrongly ({ex.Message})");
        }

        return header;
    }

    private static void CheckListed(JsonArray listed, Dictionary<string, (long Size, string Sha256)> extracted)
    {
        foreach (var file in listed)
        {
            var path = file?["path"]?.GetValue<string>() ?? throw Damaged("a file entry in snapshot.json has no path");
            if (!extracted.Remove(path, out var got))
                throw Damaged($"file `{path}` is missing");
            var size = file["size"]?.GetValue<long>();
            var sha = file["sha256"]?.GetValue<string>();
            if (size != got.Size || !string.Equals(sha, got.Sha256, StringComparison.OrdinalIgnoreCase))
                throw Damaged($"file `{path}` does not match its checksum");
        }

        if (extracted.Count > 0)
            throw Damaged($"entry `{extracted.Keys.First()}` is not listed in snapshot.json");
    }

    private static JsonObject ParseManifest(byte[] manifest, string kind)
    {
        try
        {
            if (JsonNode.Parse(manifest) is not JsonObject header
                || header["format"]?.GetValue<string>() != FormatName
                || header["files"] is not JsonArray)
            {
                throw Damaged("snapshot.json is not a Quiver snapshot description");
            }

            var version = header["version"]?.GetValue<int>() ?? 0;
            if (version != FormatVersion)
                throw QuiverException.BadInput($"Wrong input: snapshot format version {version} is not supported by this server (it reads version {FormatVersion})");
            var found = header["kind"]?.GetValue<string>();
            if (found != kind)
                throw QuiverException.BadInput($"Wrong input: this is a {found ?? "unknown"} snapshot, expected a {kind} snapshot");
            return header;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            throw Damaged($"snapshot.json cannot be read ({ex.Message})");
        }
    }

    public static QuiverException Damaged(string problem) =>
        QuiverException.BadInput($"Wrong input: the snapshot is damaged or not a Quiver snapshot: {problem}. Nothing was changed.");

    private static byte[] ReadAll(Stream? data)
    {
        if (data is null)
            return [];
        using var buffer = new MemoryStream();
        data.CopyTo(buffer);
        return buffer.ToArray();
    }

    private static (long Size, string Sha256) CopyHashing(Stream? data, string destination)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long size = 0;
        using (var target = new FileStream(destination, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
        {
            if (data is not null)
            {
                var chunk = new byte[1 << 16];
                int read;
                while ((read = data.Read(chunk)) > 0)
                {
                    hash.AppendData(chunk.AsSpan(0, read));
                    target.Write(chunk.AsSpan(0, read));
                    size += read;
                }
            }

            target.Flush(flushToDisk: true);
        }

        return (size, Convert.ToHexStringLower(hash.GetHashAndReset()));
    }
}
