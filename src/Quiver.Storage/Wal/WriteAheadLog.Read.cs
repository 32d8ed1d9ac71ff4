using Quiver.Storage.Internal;

namespace Quiver.Storage.Wal;

public sealed partial class WriteAheadLog
{
    /// <summary>
    /// Reads records with sequence &gt;= <paramref name="fromSequence"/> in order, from disk, up to the last sequence that
    /// was durable when this method was called. Each record's data is a fresh array owned by the caller. Segments
    /// removed by a concurrent <see cref="TruncateBefore"/> make the enumeration throw.
    /// </summary>
    public IEnumerable<WalRecord> ReadFrom(ulong fromSequence)
    {
        ObjectDisposedException.ThrowIf(_writerExited.Task.IsCompleted, this);
        (string Path, ulong First)[] segments;
        ulong last;
        lock (_segmentsLock)
        {
            last = Volatile.Read(ref _lastSequence);
            segments = new (string, ulong)[_segments.Count];
            for (var i = 0; i < segments.Length; i++)
            {
                segments[i] = (_segments[i].Path, _segments[i].FirstSequence);
            }
        }

        return ReadCore(segments, Math.Max(fromSequence, 1), last);
    }

    /// <summary>
    /// Deletes whole segment files all of whose records have sequences below <paramref name="sequence"/>. The active
    /// segment is never deleted, so <see cref="FirstSequence"/> may stay below <paramref name="sequence"/>.
    /// </summary>
    public void TruncateBefore(ulong sequence)
    {
        var deleted = false;
        lock (_segmentsLock)
        {
            // Segment i holds [First(i), First(i+1) - 1]; all below `sequence` iff First(i+1) <= sequence.
            while (_segments.Count > 1 && _segments[1].FirstSequence <= sequence)
            {
                var segment = _segments[0];
                File.Delete(segment.Path);
                _segments.RemoveAt(0);
                _closedSegmentsBytes -= segment.Size;
                deleted = true;
            }
        }

        if (deleted)
        {
            DirectorySync.Fsync(_directory);
        }
    }

    private static IEnumerable<WalRecord> ReadCore((string Path, ulong First)[] segments, ulong from, ulong last)
    {
        if (from > last)
        {
            yield break;
        }

        var start = 0;
        while (start + 1 < segments.Length && segments[start + 1].First <= from)
        {
            start++;
        }

        for (var i = start; i < segments.Length; i++)
        {
            var (path, first) = segments[i];
            if (first > last)
            {
                yield break;
            }

            var segmentLast = i + 1 < segments.Length ? Math.Min(segments[i + 1].First - 1, last) : last;
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 64 * 1024);
            var headerFirst = WalFormat.ReadSegmentHeader(stream, path);
            if (headerFirst != first)
            {
                throw new WalCorruptionException(path, 8, $"header says the first sequence is {headerFirst} but the file name says {first}");
            }

            long offset = WalFormat.SegmentHeaderSize;
            var sequence = first;
            byte[] scratch = [];
            while (sequence <= segmentLast)
            {
                // Records below `from` in the first segment are still checked, but into a reused scratch buffer.
                var wanted = sequence >= from;
                var data = scratch;
                var status = WalFormat.ReadRecord(stream, offset, long.MaxValue, sequence, exactBuffer: wanted, ref data, out var length);
                if (!wanted)
                {
                    scratch = data;
                }

                if (status != RecordStatus.Ok)
                {
                    throw new WalCorruptionException(path, offset, $"{WalFormat.Describe(status)} while reading sequence {sequence}");
                }

                offset += WalFormat.RecordHeaderSize + length;
                if (wanted)
                {
                    yield return new WalRecord(sequence, data);
                }

                sequence++;
            }
        }
    }
}
