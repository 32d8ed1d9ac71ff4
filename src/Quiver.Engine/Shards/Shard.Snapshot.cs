namespace Quiver.Engine.Shards;

internal sealed partial class Shard
{
    /// <summary>
    /// Hands <paramref name="copyFile"/> (file name, full path) every file of a point-in-time copy of the shard and
    /// returns the log sequence that copy covers. The shard is flushed first, so the files the manifest names hold
    /// everything applied; the flush gate is then kept while the files are copied, because only a flush removes
    /// files (the ones a newer manifest no longer names). Writes and reads go on meanwhile: they only wait for the
    /// flush's own short capture. Files an optimizer adds during the copy are either whole (they are renamed into
    /// place) or absent; a restored shard drops any its manifest does not name. The log is not copied.
    /// </summary>
    public ulong CopyStateTo(Action<string, string> copyFile)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        lock (_flushGate)
        {
            // Lock is re-entrant: Flush takes the gate again on this thread.
            Flush();
            var covered = (ulong)Volatile.Read(ref _flushedSequence);
            foreach (var path in Directory.EnumerateFiles(_directory).Order(StringComparer.Ordinal))
            {
                var name = Path.GetFileName(path);
                // The change stream's cursor belongs to this folder's log, which is not copied: a restored shard
                // starts a cursor of its own. Quantized codes are derived data the background quantization job
                // writes and deletes outside the flush gate: a restored shard builds them again. Staged vector files
                // are a running rebuild's scratch.
                if (!name.EndsWith(".tmp", StringComparison.Ordinal) && name != FeedCursorFile && !name.EndsWith(".codes", StringComparison.Ordinal) && !IsStaged(name))
                    copyFile(name, path);
            }

            return covered;
        }
    }
}
