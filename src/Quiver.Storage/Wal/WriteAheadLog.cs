using System.Buffers;
using Quiver.Storage.Internal;

namespace Quiver.Storage.Wal;

/// <summary>
/// A segmented, checksummed, durable write-ahead log with group commit. See <see cref="WalFormat"/> for the file
/// format and docs/storage.md for the design.
/// </summary>
/// <remarks>
/// <para>Appends are queued; one dedicated writer thread drains everything queued, assigns contiguous sequences in
/// queue order, writes the records, fsyncs once, invokes <see cref="OnDurable"/> and only then completes the appenders'
/// tasks. So concurrent appenders share fsyncs and no append is acknowledged before it is durable.</para>
/// <para>The memory passed to the append methods is read on the writer thread: do not modify it until the append
/// completes. If the write or fsync fails the log becomes faulted: the affected appenders and every later append fail
/// with the cause (the log must be reopened, which recovers from what is on disk).</para>
/// </remarks>
public sealed partial class WriteAheadLog : IShardLog
{
    /// <summary>Largest record accepted (and believed when scanning).</summary>
    public const int MaxRecordBytes = 256 * 1024 * 1024;

    private const int WriteBufferSize = 1024 * 1024;
    private const string LockFileName = "wal.lock";

    private readonly WalOptions _options;
    private readonly string _directory;
    private readonly FileStream _lockFile;

    // Segment list: the last entry is the active segment. Guarded by _segmentsLock; the writer thread is the only one
    // adding segments, TruncateBefore the only one removing them.
    private readonly Lock _segmentsLock = new();
    private readonly List<SegmentInfo> _segments;
    private long _closedSegmentsBytes;

    // Writer-thread state.
    private FileStream _active;
    private long _activeRecords;
    private long _activeSize;
    private readonly byte[] _writeBuffer;
    private int _writeBuffered;
    private ulong _lastSequence;
    private long _fsyncCount;

    // Queue shared by appenders and the writer. Guarded by _queueLock (a Monitor, for Wait/Pulse).
    private readonly object _queueLock = new();
    private List<PendingAppend> _queue = [];
    private List<PendingAppend> _draining = [];
    private bool _writerWaiting;
    private bool _stopping;
    private bool _appendStarted;
    private Exception? _fault;
    private Action<ulong, IReadOnlyList<ReadOnlyMemory<byte>>>? _onDurable;

    private readonly Thread _writer;
    private readonly TaskCompletionSource _writerExited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private WriteAheadLog(
        WalOptions options, string directory, FileStream lockFile, List<SegmentInfo> segments, FileStream active,
        long activeRecords, ulong lastSequence, WalRecoveryReport report)
    {
        _options = options;
        _directory = directory;
        _lockFile = lockFile;
        _segments = segments;
        _active = active;
        _activeRecords = activeRecords;
        _activeSize = active.Length;
        _lastSequence = lastSequence;
        RecoveryReport = report;
        for (var i = 0; i < segments.Count - 1; i++)
        {
            _closedSegmentsBytes += segments[i].Size;
        }

        _writeBuffer = ArrayPool<byte>.Shared.Rent(WriteBufferSize);
        _writer = new Thread(WriterLoop) { IsBackground = true, Name = "quiver-wal-writer" };
        _writer.Start();
    }

    /// <summary>First sequence still on disk, or <see cref="LastSequence"/> + 1 when the log holds no records.</summary>
    public ulong FirstSequence
    {
        get
        {
            lock (_segmentsLock)
            {
                return _segments[0].FirstSequence;
            }
        }
    }

    /// <summary>Last durable sequence; 0 when nothing was ever written. Sequences start at 1.</summary>
    public ulong LastSequence => Volatile.Read(ref _lastSequence);

    /// <summary>Total bytes of all segment files.</summary>
    public long SizeBytes
    {
        get
        {
            lock (_segmentsLock)
            {
                return _closedSegmentsBytes + Volatile.Read(ref _activeSize) + Volatile.Read(ref _writeBuffered);
            }
        }
    }

    /// <summary>Number of fsyncs of segment data so far (for tests and metrics).</summary>
    public long FsyncCount => Interlocked.Read(ref _fsyncCount);

    /// <summary>What recovery found when the log was opened.</summary>
    public WalRecoveryReport RecoveryReport { get; }

    /// <summary>
    /// Invoked on the writer thread after each fsync with the first sequence and the records made durable by it (all
    /// sequences contiguous, in order), before the appenders' tasks complete. Each record is the caller's memory, and
    /// the list is fresh for each call. Must be set before the first append. If it throws, the log becomes faulted
    /// and the group's appenders fail (their records are durable and will be replayed from the log on restart).
    /// </summary>
    public Action<ulong, IReadOnlyList<ReadOnlyMemory<byte>>>? OnDurable
    {
        get => _onDurable;
        set
        {
            lock (_queueLock)
            {
                if (_appendStarted)
                {
                    throw new InvalidOperationException("OnDurable must be set before the first append.");
                }

                _onDurable = value;
            }
        }
    }

    /// <summary>Test seam: called with "write" or "fsync" on the writer thread before each; may throw to simulate IO errors.</summary>
    internal Action<string>? FaultInjection { get; set; }

    /// <summary>
    /// Opens (creating if needed) the log in <see cref="WalOptions.Directory"/>, validating every segment. A torn or
    /// garbage tail of the last segment is cut (see <see cref="RecoveryReport"/>); any other damage throws
    /// <see cref="WalCorruptionException"/>.
    /// </summary>
    public static WriteAheadLog Open(WalOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(options.Directory);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.SegmentBytes, 64L, nameof(options.SegmentBytes));

        var directory = Path.GetFullPath(options.Directory);
        _ = Directory.CreateDirectory(directory);

        // Exclusive advisory lock: two logs on one directory would corrupt each other.
        FileStream lockFile;
        try
        {
            lockFile = new FileStream(Path.Combine(directory, LockFileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            throw new IOException($"The write-ahead log in '{directory}' is already open.", ex);
        }

        try
        {
            return Recover(options, directory, lockFile);
        }
        catch
        {
            lockFile.Dispose();
            throw;
        }
    }

    /// <summary>Stops accepting appends, writes and fsyncs everything already queued, and closes the files.</summary>
    public async ValueTask DisposeAsync()
    {
        lock (_queueLock)
        {
            _stopping = true;
            Monitor.PulseAll(_queueLock);
        }

        await _writerExited.Task.ConfigureAwait(false);
        _lockFile.Dispose();
    }

    private static FileStream OpenForAppend(string path)
    {
        var stream = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.Open,
            Access = FileAccess.Write,
            Share = FileShare.Read | FileShare.Delete,
            BufferSize = 0,
        });
        stream.Position = stream.Length;
        return stream;
    }

    /// <summary>Creates a segment file with a complete header via write-temp, fsync, rename, fsync directory.</summary>
    private static string CreateSegmentFile(string directory, ulong firstSequence, bool fsync)
    {
        var path = Path.Combine(directory, WalFormat.SegmentFileName(firstSequence));
        var temp = path + WalFormat.TempSuffix;
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0))
        {
            Span<byte> header = stackalloc byte[WalFormat.SegmentHeaderSize];
            WalFormat.WriteSegmentHeader(header, firstSequence);
            stream.Write(header);
            if (fsync)
            {
                stream.Flush(flushToDisk: true);
            }
        }

        File.Move(temp, path, overwrite: false);
        if (fsync)
        {
            DirectorySync.Fsync(directory);
        }

        return path;
    }

    private static WriteAheadLog Recover(WalOptions options, string directory, FileStream lockFile)
    {
        foreach (var stale in Directory.EnumerateFiles(directory, WalFormat.FilePrefix + "*" + WalFormat.FileSuffix + WalFormat.TempSuffix))
        {
            File.Delete(stale); // a segment creation that crashed before its rename
        }

        var segments = new List<SegmentInfo>();
        foreach (var file in Directory.EnumerateFiles(directory, WalFormat.FilePrefix + "*" + WalFormat.FileSuffix))
        {
            if (WalFormat.TryParseSegmentFileName(Path.GetFileName(file), out var first))
            {
                segments.Add(new SegmentInfo(file, first));
            }
        }

        segments.Sort((a, b) => a.FirstSequence.CompareTo(b.FirstSequence));

        if (segments.Count == 0)
        {
            var first = Math.Max(1, options.FirstSequence);
            var path = CreateSegmentFile(directory, first, options.Fsync);
            segments.Add(new SegmentInfo(path, first) { Size = WalFormat.SegmentHeaderSize });
            var report = new WalRecoveryReport(1, 0, 0, null, -1);
            return new WriteAheadLog(options, directory, lockFile, segments, OpenForAppend(path), 0, first - 1, report);
        }

        ulong totalRecords = 0;
        long activeRecords = 0;
        long bytesCut = 0;
        long cutAt = -1;
        string? cutSegment = null;
        ulong expectedFirst = segments[0].FirstSequence;
        var buffer = new byte[64 * 1024];
        for (var i = 0; i < segments.Count; i++)
        {
            var segment = segments[i];
            var isLast = i == segments.Count - 1;
            long goodLength;
            long records;
            using (var stream = new FileStream(segment.Path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 256 * 1024))
            {
                var fileLength = stream.Length;
                var headerFirst = WalFormat.ReadSegmentHeader(stream, segment.Path);
                if (headerFirst != segment.FirstSequence)
                {
                    throw new WalCorruptionException(segment.Path, 8, $"header says the first sequence is {headerFirst} but the file name says {segment.FirstSequence}");
                }

                if (segment.FirstSequence != expectedFirst)
                {
                    throw new WalCorruptionException(segment.Path, 0, $"sequence gap: expected this segment to start at {expectedFirst} but it starts at {segment.FirstSequence}");
                }

                long offset = WalFormat.SegmentHeaderSize;
                var sequence = segment.FirstSequence;
                while (true)
                {
                    var status = WalFormat.ReadRecord(stream, offset, fileLength, sequence, exactBuffer: false, ref buffer, out var length);
                    if (status == RecordStatus.Ok)
                    {
                        offset += WalFormat.RecordHeaderSize + length;
                        sequence++;
                        continue;
                    }

                    if (status == RecordStatus.EndOfFile)
                    {
                        break;
                    }

                    var reason = WalFormat.Describe(status);
                    if (!isLast)
                    {
                        throw new WalCorruptionException(segment.Path, offset, $"{reason} in a segment that is not the last one");
                    }

                    if (status == RecordStatus.SequenceMismatch)
                    {
                        throw new WalCorruptionException(segment.Path, offset, $"{reason} (expected {sequence})");
                    }

                    var valid = WalFormat.FindValidRecordAfter(stream.SafeFileHandle, offset + 1, fileLength, sequence - 1);
                    if (valid >= 0)
                    {
                        throw new WalCorruptionException(segment.Path, offset, $"{reason}, followed by a valid record at offset {valid}");
                    }

                    // Torn or garbage tail: everything from here on was never acknowledged. Cut it.
                    bytesCut = fileLength - offset;
                    cutAt = offset;
                    cutSegment = segment.Path;
                    break;
                }

                goodLength = offset;
                records = (long)(sequence - segment.FirstSequence);
                expectedFirst = sequence;
            }

            segment.Size = goodLength;
            totalRecords += (ulong)records;
            if (isLast)
            {
                activeRecords = records;
            }
        }

        var activePath = segments[^1].Path;
        var active = OpenForAppend(activePath);
        try
        {
            if (bytesCut > 0)
            {
                active.SetLength(segments[^1].Size);
                active.Position = segments[^1].Size;
                active.Flush(flushToDisk: true);
            }

            var report = new WalRecoveryReport(segments.Count, totalRecords, bytesCut, cutSegment, cutAt);
            return new WriteAheadLog(options, directory, lockFile, segments, active, activeRecords, expectedFirst - 1, report);
        }
        catch
        {
            active.Dispose();
            throw;
        }
    }

    private sealed class SegmentInfo(string path, ulong firstSequence)
    {
        public string Path { get; } = path;

        public ulong FirstSequence { get; } = firstSequence;

        /// <summary>Size in bytes; for the active segment only as of open/roll (the live size is tracked separately).</summary>
        public long Size { get; set; }
    }
}
