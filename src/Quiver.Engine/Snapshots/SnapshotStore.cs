using System.Globalization;
using Quiver.Segment.Errors;

namespace Quiver.Engine.Snapshots;

/// <summary>A snapshot file as the API lists it.</summary>
public sealed record SnapshotInfo(string Name, DateTime CreationTime, long Size, string? Checksum);

/// <summary>
/// The snapshot folder (<c>storage.snapshots_path</c>): full-storage snapshots at its root, a collection's in
/// <c>{collection}/</c>, each <c>{name}.snapshot</c> beside <c>{name}.snapshot.checksum</c> (its SHA-256, as Qdrant
/// writes it). A snapshot is written under a hidden temporary name and renamed into place when complete, so a
/// listed snapshot is always whole. Names from requests are checked to be plain file names before any use.
/// </summary>
public sealed class SnapshotStore
{
    public const string Extension = ".snapshot";
    private const string ChecksumExtension = ".checksum";
    private const string IncomingFolder = ".incoming";

    /// <summary>The SHA-256 of a whole snapshot file (lower-case hex), as its <c>.checksum</c> holds it.</summary>
    public static string FileSha256(string path) => SnapshotArchive.FileSha256(path);

    public SnapshotStore(string root)
    {
        Root = Path.GetFullPath(root);
        Directory.CreateDirectory(Root);
        // Downloads and uploads interrupted by a crash.
        var incoming = Path.Combine(Root, IncomingFolder);
        if (Directory.Exists(incoming))
            Directory.Delete(incoming, recursive: true);
    }

    public string Root { get; }

    /// <summary>The snapshots of <paramref name="collection"/>, or the full-storage ones when it is null; newest last.</summary>
    public IReadOnlyList<SnapshotInfo> List(string? collection)
    {
        var dir = Folder(collection);
        if (!Directory.Exists(dir))
            return [];
        return [.. Directory.EnumerateFiles(dir, "*" + Extension)
            .Where(path => !Path.GetFileName(path).StartsWith('.'))
            .Select(path => Describe(path))
            .OrderBy(s => s.CreationTime)
            .ThenBy(s => s.Name, StringComparer.Ordinal)];
    }

    /// <summary>The file of an existing snapshot; 400 for a name that is not a plain snapshot file name, 404 when absent.</summary>
    public string PathOf(string? collection, string snapshotName)
    {
        CheckName(snapshotName);
        var path = Path.Combine(Folder(collection), snapshotName);
        return File.Exists(path) ? path : throw QuiverException.NotFound($"Not found: Snapshot {snapshotName} not found");
    }

    public SnapshotInfo Describe(string path)
    {
        var info = new FileInfo(path);
        var checksumPath = path + ChecksumExtension;
        var checksum = File.Exists(checksumPath) ? File.ReadAllText(checksumPath).Trim() : null;
        return new SnapshotInfo(info.Name, info.LastWriteTimeUtc, info.Length, checksum);
    }

    /// <summary>Deletes a snapshot and its checksum; false when there was none of that name.</summary>
    public bool Delete(string? collection, string snapshotName)
    {
        CheckName(snapshotName);
        var path = Path.Combine(Folder(collection), snapshotName);
        if (!File.Exists(path))
            return false;
        File.Delete(path);
        File.Delete(path + ChecksumExtension);
        return true;
    }

    /// <summary>Deletes every snapshot of <paramref name="collection"/> (the collection is being deleted).</summary>
    public void DeleteAll(string collection)
    {
        var dir = Folder(collection);
        if (Directory.Exists(dir))
            Directory.Delete(dir, recursive: true);
    }

    /// <summary>A fresh path for a file being received (an upload, a download from a URL); removed at start-up.</summary>
    public string IncomingPath()
    {
        var dir = Path.Combine(Root, IncomingFolder);
        Directory.CreateDirectory(dir);
        return Path.Combine(dir, Guid.NewGuid().ToString("N") + ".tmp");
    }

    /// <summary>
    /// Writes a new snapshot named <c>{prefix}-{UTC time}.snapshot</c> with <paramref name="write"/> (which returns
    /// the archive's SHA-256) and publishes it whole, with its checksum file.
    /// </summary>
    internal SnapshotInfo Create(string? collection, string prefix, Func<SnapshotArchiveWriter, string> write)
    {
        var dir = Folder(collection);
        Directory.CreateDirectory(dir);
        var stamp = DateTime.UtcNow.ToString("yyyy-MM-dd-HH-mm-ss", CultureInfo.InvariantCulture);
        var name = $"{prefix}-{stamp}{Extension}";
        for (var n = 2; File.Exists(Path.Combine(dir, name)); n++)
            name = $"{prefix}-{stamp}-{n}{Extension}";
        var path = Path.Combine(dir, name);
        var temp = Path.Combine(dir, $".{name}.{Guid.NewGuid():N}.tmp");
        try
        {
            string checksum;
            using (var writer = new SnapshotArchiveWriter(temp))
                checksum = write(writer);
            File.WriteAllText(path + ChecksumExtension, checksum);
            File.Move(temp, path);
            return Describe(path);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    private string Folder(string? collection) => collection is null ? Root : Path.Combine(Root, collection);

    private static void CheckName(string snapshotName)
    {
        if (snapshotName.Length is 0 or > 255 || snapshotName.StartsWith('.') || !snapshotName.EndsWith(Extension, StringComparison.Ordinal)
            || snapshotName.AsSpan().IndexOfAny(['/', '\\', '\0']) >= 0 || Path.GetFileName(snapshotName) != snapshotName)
        {
            throw QuiverException.BadInput($"Wrong input: `{snapshotName}` is not a snapshot name: expected a file name ending in {Extension}, without path separators or a leading dot");
        }
    }
}
