using System.Buffers;

namespace Quiver.Storage.Wal;

public sealed partial class WriteAheadLog
{
    /// <summary>Appends one record durably; returns its sequence.</summary>
    /// <remarks>The token is honoured until the writer picks the record up; after that the append completes normally.</remarks>
    public ValueTask<ulong> AppendAsync(ReadOnlyMemory<byte> record, CancellationToken ct = default)
    {
        if (record.Length > MaxRecordBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(record), $"Record of {record.Length} bytes exceeds the {MaxRecordBytes}-byte limit.");
        }

        return ct.IsCancellationRequested
            ? ValueTask.FromCanceled<ulong>(ct)
            : Enqueue(PendingAppend.Rent(record, null, ct));
    }

    /// <summary>The shard-log form of <see cref="AppendBatchAsync"/>: one durability point, the last sequence returned.</summary>
    public async ValueTask<ulong> AppendAllAsync(IReadOnlyList<ReadOnlyMemory<byte>> records, CancellationToken ct = default) =>
        await AppendBatchAsync(records, ct).ConfigureAwait(false) + (ulong)records.Count - 1;

    /// <summary>Appends several records with contiguous sequences and one durability point; returns the first sequence.</summary>
    /// <remarks>The list and its buffers are read on the writer thread: do not modify them until the append completes.</remarks>
    public ValueTask<ulong> AppendBatchAsync(IReadOnlyList<ReadOnlyMemory<byte>> records, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 0)
        {
            throw new ArgumentException("A batch must contain at least one record.", nameof(records));
        }

        for (var i = 0; i < records.Count; i++)
        {
            if (records[i].Length > MaxRecordBytes)
            {
                throw new ArgumentOutOfRangeException(nameof(records), $"Record {i} of {records[i].Length} bytes exceeds the {MaxRecordBytes}-byte limit.");
            }
        }

        return ct.IsCancellationRequested
            ? ValueTask.FromCanceled<ulong>(ct)
            : Enqueue(PendingAppend.Rent(default, records, ct));
    }

    private ValueTask<ulong> Enqueue(PendingAppend op)
    {
        var token = op.Version;
        lock (_queueLock)
        {
            if (_fault is not null || _stopping)
            {
                op.Recycle();
                return ValueTask.FromException<ulong>(_fault is not null ? FaultedException() : new ObjectDisposedException(nameof(WriteAheadLog)));
            }

            _appendStarted = true;
            _queue.Add(op);
            if (_writerWaiting)
            {
                Monitor.Pulse(_queueLock);
            }
        }

        return new ValueTask<ulong>(op, token);
    }

    private InvalidOperationException FaultedException() =>
        new($"The write-ahead log in '{_directory}' is faulted after an I/O failure and accepts no more appends; reopen it.", _fault);

    private void WriterLoop()
    {
        try
        {
            while (true)
            {
                List<PendingAppend> batch;
                lock (_queueLock)
                {
                    while (_queue.Count == 0 && !_stopping)
                    {
                        _writerWaiting = true;
                        _ = Monitor.Wait(_queueLock);
                        _writerWaiting = false;
                    }

                    if (_queue.Count == 0)
                    {
                        break; // stopping and drained
                    }

                    batch = _queue;
                    _queue = _draining;
                    _draining = batch;
                }

                ProcessBatch(batch);
                batch.Clear();
            }
        }
        finally
        {
            try
            {
                _active.Dispose();
            }
            catch (IOException)
            {
                // Closing after a failed write; the appenders have already been failed.
            }

            ArrayPool<byte>.Shared.Return(_writeBuffer);
            _ = _writerExited.TrySetResult();
        }
    }

    private void ProcessBatch(List<PendingAppend> batch)
    {
        if (_fault is not null)
        {
            var faulted = FaultedException();
            foreach (var op in batch)
            {
                op.SetException(faulted);
            }

            return;
        }

        // Appends cancelled while queued are dropped before they get a sequence, so sequences stay contiguous.
        var recordCount = 0;
        foreach (var op in batch)
        {
            if (!op.CancellationToken.IsCancellationRequested)
            {
                recordCount += op.Count;
            }
        }

        var firstSequence = _lastSequence + 1;
        var sequence = firstSequence;
        var starts = ArrayPool<ulong>.Shared.Rent(batch.Count);
        try
        {
            if (recordCount > 0)
            {
                try
                {
                    for (var i = 0; i < batch.Count; i++)
                    {
                        var op = batch[i];
                        if (op.CancellationToken.IsCancellationRequested)
                        {
                            starts[i] = 0;
                            continue;
                        }

                        starts[i] = sequence;
                        for (var r = 0; r < op.Count; r++)
                        {
                            WriteRecord(sequence, op[r].Span);
                            sequence++;
                        }
                    }

                    FlushWriteBuffer();
                    SyncActive();
                }
                catch (Exception ex)
                {
                    lock (_queueLock)
                    {
                        _fault = ex;
                    }

                    foreach (var op in batch)
                    {
                        op.SetException(ex);
                    }

                    return;
                }

                Volatile.Write(ref _lastSequence, sequence - 1);

                var onDurable = _onDurable;
                if (onDurable is not null)
                {
                    var records = new ReadOnlyMemory<byte>[recordCount];
                    var k = 0;
                    for (var i = 0; i < batch.Count; i++)
                    {
                        if (starts[i] != 0)
                        {
                            for (var r = 0; r < batch[i].Count; r++)
                            {
                                records[k++] = batch[i][r];
                            }
                        }
                    }

                    try
                    {
                        onDurable(firstSequence, records);
                    }
                    catch (Exception ex)
                    {
                        var wrapped = new InvalidOperationException(
                            "The WAL OnDurable callback failed; the records are durable but were not handed to the consumer.", ex);
                        lock (_queueLock)
                        {
                            _fault = wrapped;
                        }

                        foreach (var op in batch)
                        {
                            op.SetException(wrapped);
                        }

                        return;
                    }
                }
            }

            for (var i = 0; i < batch.Count; i++)
            {
                var op = batch[i];
                if (starts[i] == 0 || recordCount == 0)
                {
                    op.SetException(new OperationCanceledException(op.CancellationToken));
                }
                else
                {
                    op.SetResult(starts[i]);
                }
            }
        }
        finally
        {
            ArrayPool<ulong>.Shared.Return(starts);
        }
    }

    private void WriteRecord(ulong sequence, ReadOnlySpan<byte> data)
    {
        if (_activeRecords > 0 && _activeSize + _writeBuffered >= _options.SegmentBytes)
        {
            RollSegment(sequence);
        }

        if (_writeBuffer.Length - _writeBuffered < WalFormat.RecordHeaderSize)
        {
            FlushWriteBuffer();
        }

        WalFormat.WriteRecordHeader(_writeBuffer.AsSpan(_writeBuffered), sequence, data);
        _writeBuffered += WalFormat.RecordHeaderSize;

        if (data.Length > _writeBuffer.Length - _writeBuffered)
        {
            FlushWriteBuffer();
        }

        if (data.Length <= _writeBuffer.Length - _writeBuffered)
        {
            data.CopyTo(_writeBuffer.AsSpan(_writeBuffered));
            _writeBuffered += data.Length;
        }
        else
        {
            // Larger than the whole buffer: write straight from the caller's memory.
            FaultInjection?.Invoke("write");
            _active.Write(data);
            Volatile.Write(ref _activeSize, _activeSize + data.Length);
        }

        _activeRecords++;
    }

    private void FlushWriteBuffer()
    {
        if (_writeBuffered == 0)
        {
            return;
        }

        FaultInjection?.Invoke("write");
        _active.Write(_writeBuffer, 0, _writeBuffered);
        Volatile.Write(ref _activeSize, _activeSize + _writeBuffered);
        _writeBuffered = 0;
    }

    private void SyncActive()
    {
        if (_options.Fsync)
        {
            FaultInjection?.Invoke("fsync");
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            _active.Flush(flushToDisk: true);
            Internal.StorageMetrics.FsyncDuration.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);
            _ = Interlocked.Increment(ref _fsyncCount);
        }
    }

    private void RollSegment(ulong firstSequence)
    {
        FlushWriteBuffer();
        SyncActive();
        _active.Dispose();

        var path = CreateSegmentFile(_directory, firstSequence, _options.Fsync);
        var next = OpenForAppend(path);
        lock (_segmentsLock)
        {
            var closed = _segments[^1];
            closed.Size = _activeSize;
            _closedSegmentsBytes += closed.Size;
            _segments.Add(new SegmentInfo(path, firstSequence) { Size = WalFormat.SegmentHeaderSize });
            _active = next;
            _activeRecords = 0;
            Volatile.Write(ref _activeSize, next.Length);
        }
    }
}
