using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;
using Quiver.Storage.Internal;
using Quiver.Storage.Tests.Files;
using Quiver.Storage.Wal;
using Xunit.Abstractions;

namespace Quiver.Storage.Tests.Wal;

public sealed class WriteAheadLogTests(ITestOutputHelper output) : IDisposable
{
    private const int SegmentHeader = 20;
    private const int RecordHeader = 16;

    private readonly TempDirectory _dir = new();
    private readonly ITestOutputHelper _output = output;

    public void Dispose() => _dir.Dispose();

    private WalOptions Options(long segmentBytes = 32 * 1024 * 1024) => new() { Directory = _dir.Path, SegmentBytes = segmentBytes };

    private static byte[] Payload(int i, int size = 0)
    {
        var text = Encoding.UTF8.GetBytes($"record-{i}");
        if (size <= text.Length)
        {
            return text;
        }

        var bytes = new byte[size];
        text.CopyTo(bytes, 0);
        for (var k = text.Length; k < size; k++)
        {
            bytes[k] = (byte)(i + k);
        }

        return bytes;
    }

    private static List<WalRecord> ReadAll(WriteAheadLog wal, ulong from = 1) => [.. wal.ReadFrom(from)];

    private string[] SegmentFiles() => [.. Directory.GetFiles(_dir.Path, "wal-*.log").Order(StringComparer.Ordinal)];

    [Fact]
    public async Task Empty_log_has_no_records()
    {
        await using var wal = WriteAheadLog.Open(Options());
        Assert.Equal(0ul, wal.LastSequence);
        Assert.Equal(1ul, wal.FirstSequence);
        Assert.Empty(ReadAll(wal));
        Assert.Equal(0ul, wal.RecoveryReport.RecordsFound);
        Assert.Single(SegmentFiles());
        Assert.EndsWith("wal-00000000000000000001.log", SegmentFiles()[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Append_and_read_round_trip()
    {
        await using var wal = WriteAheadLog.Open(Options());
        for (var i = 1; i <= 10; i++)
        {
            Assert.Equal((ulong)i, await wal.AppendAsync(Payload(i)));
        }

        Assert.Equal(11ul, await wal.AppendAsync(ReadOnlyMemory<byte>.Empty));
        Assert.Equal(11ul, wal.LastSequence);

        var all = ReadAll(wal);
        Assert.Equal(11, all.Count);
        for (var i = 1; i <= 10; i++)
        {
            Assert.Equal((ulong)i, all[i - 1].Sequence);
            Assert.Equal(Payload(i), all[i - 1].Data.ToArray());
        }

        Assert.Equal(0, all[10].Data.Length);
        Assert.Equal([7ul, 8ul, 9ul, 10ul, 11ul], wal.ReadFrom(7).Select(r => r.Sequence));
        Assert.Empty(wal.ReadFrom(12));
        Assert.Equal(11, wal.ReadFrom(0).Count());
        Assert.True(wal.SizeBytes > SegmentHeader + (11 * RecordHeader));
    }

    [Fact]
    public async Task Batch_gets_contiguous_sequences_and_returns_the_first()
    {
        await using var wal = WriteAheadLog.Open(Options());
        _ = await wal.AppendAsync(Payload(0));
        var first = await wal.AppendBatchAsync([Payload(1), Payload(2), Payload(3)]);
        Assert.Equal(2ul, first);
        Assert.Equal(4ul, wal.LastSequence);
        Assert.Equal(Payload(3), wal.ReadFrom(4).Single().Data.ToArray());
        await Assert.ThrowsAsync<ArgumentException>(async () => await wal.AppendBatchAsync([]));
    }

    [Fact]
    public async Task Reopen_keeps_sequences_and_continues()
    {
        await using (var wal = WriteAheadLog.Open(Options()))
        {
            for (var i = 1; i <= 5; i++)
            {
                _ = await wal.AppendAsync(Payload(i));
            }
        }

        await using (var wal = WriteAheadLog.Open(Options()))
        {
            Assert.Equal(5ul, wal.LastSequence);
            Assert.Equal(1ul, wal.FirstSequence);
            Assert.Equal(5ul, wal.RecoveryReport.RecordsFound);
            Assert.Equal(0, wal.RecoveryReport.BytesTruncated);
            Assert.Equal(6ul, await wal.AppendAsync(Payload(6)));
        }

        await using (var wal = WriteAheadLog.Open(Options()))
        {
            Assert.Equal(6ul, wal.LastSequence);
            Assert.Equal(Enumerable.Range(1, 6).Select(i => Payload(i)), ReadAll(wal).Select(r => r.Data.ToArray()));
        }
    }

    [Fact]
    public async Task A_new_log_starts_at_the_first_sequence_asked_for_and_an_existing_one_ignores_it()
    {
        await using (var wal = WriteAheadLog.Open(Options() with { FirstSequence = 42 }))
        {
            Assert.Equal(41ul, wal.LastSequence);
            Assert.Equal(42ul, wal.FirstSequence);
            Assert.Empty(ReadAll(wal));
            Assert.Equal(42ul, await wal.AppendAsync(Payload(42)));
            Assert.Equal(43ul, await wal.AppendAsync(Payload(43)));
        }

        // The records on disk decide where an existing log continues.
        await using (var wal = WriteAheadLog.Open(Options() with { FirstSequence = 7 }))
        {
            Assert.Equal(43ul, wal.LastSequence);
            Assert.Equal(new[] { 42ul, 43ul }, ReadAll(wal, 42).Select(r => r.Sequence));
            Assert.Equal(Payload(43), ReadAll(wal, 43).Single().Data.ToArray());
            Assert.Equal(44ul, await wal.AppendAsync(Payload(44)));
        }
    }

    [Fact]
    public async Task Segments_roll_and_truncate_before_deletes_whole_old_segments()
    {
        const int count = 200;
        await using (var wal = WriteAheadLog.Open(Options(segmentBytes: 1024)))
        {
            for (var i = 1; i <= count; i++)
            {
                _ = await wal.AppendAsync(Payload(i, 100));
            }

            var files = SegmentFiles();
            Assert.True(files.Length > 10, $"expected many segments, got {files.Length}");
            Assert.All(files, f => Assert.True(new FileInfo(f).Length < 1024 + 200));
            Assert.Equal(files.Sum(f => new FileInfo(f).Length), wal.SizeBytes);
            Assert.Equal(Enumerable.Range(1, count).Select(i => (ulong)i), ReadAll(wal).Select(r => r.Sequence));
            Assert.Equal(Payload(150, 100), wal.ReadFrom(150).First().Data.ToArray());

            wal.TruncateBefore(100);
            var first = wal.FirstSequence;
            Assert.InRange(first, 2ul, 100ul);
            Assert.True(first > 100 - 10, "only whole segments below 100 remain missing");
            Assert.True(SegmentFiles().Length < files.Length);
            Assert.Equal(SegmentFiles().Sum(f => new FileInfo(f).Length), wal.SizeBytes);
            Assert.Equal(Enumerable.Range((int)first, count - (int)first + 1).Select(i => (ulong)i), ReadAll(wal).Select(r => r.Sequence));
            Assert.Equal(first, wal.ReadFrom(1).First().Sequence);
        }

        ulong firstAfterReopen;
        await using (var wal = WriteAheadLog.Open(Options(segmentBytes: 1024)))
        {
            firstAfterReopen = wal.FirstSequence;
            Assert.Equal((ulong)count, wal.LastSequence);
            Assert.Equal(Payload(count, 100), wal.ReadFrom(count).Single().Data.ToArray());

            // Truncating everything keeps the active segment.
            wal.TruncateBefore(ulong.MaxValue);
            Assert.Single(SegmentFiles());
            Assert.Equal((ulong)count + 1, await wal.AppendAsync(Payload(count + 1, 100)));
            Assert.Equal((ulong)count + 1, wal.ReadFrom(1).Last().Sequence);
        }

        Assert.True(firstAfterReopen > 1);
    }

    [Fact]
    public async Task Group_commit_batches_fsyncs_across_concurrent_appenders()
    {
        const int writers = 64;
        const int perWriter = 40;
        var sequences = new ConcurrentDictionary<ulong, (int Writer, int Index)>();
        await using (var wal = WriteAheadLog.Open(Options()))
        {
            var stopwatch = System.Diagnostics.Stopwatch.StartNew();
            var tasks = Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
            {
                for (var i = 0; i < perWriter; i++)
                {
                    var record = new byte[1024];
                    BinaryPrimitives.WriteInt32LittleEndian(record, w);
                    BinaryPrimitives.WriteInt32LittleEndian(record.AsSpan(4), i);
                    var seq = await wal.AppendAsync(record);
                    Assert.True(sequences.TryAdd(seq, (w, i)), $"sequence {seq} handed out twice");
                }
            })).ToArray();
            await Task.WhenAll(tasks);

            const int total = writers * perWriter;
            _output.WriteLine($"{total} records, {wal.FsyncCount} fsyncs, {stopwatch.Elapsed.TotalMilliseconds:F0} ms");
            Assert.Equal((ulong)total, wal.LastSequence);
            Assert.Equal(Enumerable.Range(1, total).Select(i => (ulong)i), sequences.Keys.Order());
            Assert.True(wal.FsyncCount < total / 4, $"{wal.FsyncCount} fsyncs for {total} records: not batching");
        }

        await using (var wal = WriteAheadLog.Open(Options()))
        {
            var all = ReadAll(wal);
            Assert.Equal(writers * perWriter, all.Count);
            foreach (var record in all)
            {
                var (w, i) = sequences[record.Sequence];
                Assert.Equal(w, BinaryPrimitives.ReadInt32LittleEndian(record.Data.Span));
                Assert.Equal(i, BinaryPrimitives.ReadInt32LittleEndian(record.Data.Span[4..]));
            }
        }
    }

    [Fact]
    public async Task OnDurable_sees_every_record_once_in_order_before_the_append_completes()
    {
        var delivered = new List<(ulong Seq, byte[] Data)>();
        var calls = 0;
        await using var wal = WriteAheadLog.Open(Options());
        wal.OnDurable = (first, records) =>
        {
            calls++;
            lock (delivered)
            {
                Assert.Equal(delivered.Count == 0 ? 1ul : delivered[^1].Seq + 1, first);
                Assert.True(wal.LastSequence >= first + (ulong)records.Count - 1, "callback runs after the fsync");
                for (var i = 0; i < records.Count; i++)
                {
                    delivered.Add((first + (ulong)i, records[i].ToArray()));
                }
            }
        };

        var expected = new ConcurrentDictionary<ulong, byte[]>();
        var tasks = Enumerable.Range(0, 32).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 30; i++)
            {
                if (i % 5 == 0)
                {
                    byte[][] batch = [Payload((w * 1000) + i), Payload((w * 1000) + i + 500)];
                    var first = await wal.AppendBatchAsync([.. batch.Select(b => (ReadOnlyMemory<byte>)b)]);
                    expected[first] = batch[0];
                    expected[first + 1] = batch[1];
                    AssertDelivered(first + 1);
                }
                else
                {
                    var payload = Payload((w * 1000) + i);
                    var seq = await wal.AppendAsync(payload);
                    expected[seq] = payload;
                    AssertDelivered(seq);
                }
            }
        })).ToArray();
        await Task.WhenAll(tasks);

        Assert.Equal(expected.Count, delivered.Count);
        Assert.True(calls < delivered.Count);
        foreach (var (seq, data) in delivered)
        {
            Assert.Equal(expected[seq], data);
        }

        Assert.Throws<InvalidOperationException>(() => wal.OnDurable = null);

        void AssertDelivered(ulong seq)
        {
            lock (delivered)
            {
                Assert.True(delivered.Count >= (int)seq, $"append {seq} completed before OnDurable saw it");
            }
        }
    }

    [Fact]
    public async Task Torn_tail_at_every_offset_inside_the_last_record_is_cut_and_appending_continues()
    {
        var source = _dir.Combine("source");
        await using (var wal = WriteAheadLog.Open(new WalOptions { Directory = source }))
        {
            for (var i = 1; i <= 5; i++)
            {
                _ = await wal.AppendAsync(Payload(i, 40));
            }
        }

        var segment = Directory.GetFiles(source, "wal-*.log").Single();
        var bytes = File.ReadAllBytes(segment);
        var lastStart = SegmentHeader + (4 * (RecordHeader + 40));
        Assert.Equal(lastStart + RecordHeader + 40, bytes.Length);

        for (var cut = lastStart; cut < bytes.Length; cut++)
        {
            var dir = _dir.Combine($"cut-{cut}");
            _ = Directory.CreateDirectory(dir);
            File.WriteAllBytes(Path.Combine(dir, Path.GetFileName(segment)), bytes[..cut]);

            var options = new WalOptions { Directory = dir };
            await using (var wal = WriteAheadLog.Open(options))
            {
                Assert.Equal(4ul, wal.LastSequence);
                Assert.Equal(4ul, wal.RecoveryReport.RecordsFound);
                Assert.Equal(cut - lastStart, wal.RecoveryReport.BytesTruncated);
                Assert.Equal(5ul, await wal.AppendAsync(Payload(99)));
                Assert.Equal(6ul, await wal.AppendAsync(Payload(100)));
            }

            await using (var wal = WriteAheadLog.Open(options))
            {
                Assert.Equal(0, wal.RecoveryReport.BytesTruncated);
                var all = ReadAll(wal);
                Assert.Equal([1ul, 2ul, 3ul, 4ul, 5ul, 6ul], all.Select(r => r.Sequence));
                Assert.Equal(Payload(4, 40), all[3].Data.ToArray());
                Assert.Equal(Payload(99), all[4].Data.ToArray());
                Assert.Equal(Payload(100), all[5].Data.ToArray());
            }

            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData(false, 4096)]
    [InlineData(false, 7)]
    [InlineData(true, 4096)]
    [InlineData(true, 15)]
    public async Task Garbage_appended_at_the_tail_is_cut(bool random, int garbageBytes)
    {
        await using (var wal = WriteAheadLog.Open(Options()))
        {
            for (var i = 1; i <= 3; i++)
            {
                _ = await wal.AppendAsync(Payload(i));
            }
        }

        var segment = SegmentFiles().Single();
        var cleanLength = new FileInfo(segment).Length;
        var garbage = new byte[garbageBytes];
        if (random)
        {
            new Random(garbageBytes).NextBytes(garbage);
        }

        using (var f = new FileStream(segment, FileMode.Append))
        {
            f.Write(garbage);
        }

        await using (var wal = WriteAheadLog.Open(Options()))
        {
            Assert.Equal(3ul, wal.LastSequence);
            Assert.Equal(garbageBytes, wal.RecoveryReport.BytesTruncated);
            Assert.Equal(cleanLength, wal.RecoveryReport.TruncatedAtOffset);
            Assert.Equal(cleanLength, new FileInfo(segment).Length);
            Assert.Equal(4ul, await wal.AppendAsync(Payload(4)));
            Assert.Equal(4, ReadAll(wal).Count);
        }
    }

    [Fact]
    public async Task Flipped_byte_in_an_earlier_record_throws_with_file_and_offset()
    {
        await using (var wal = WriteAheadLog.Open(Options()))
        {
            for (var i = 1; i <= 5; i++)
            {
                _ = await wal.AppendAsync(Payload(i, 32));
            }
        }

        var segment = SegmentFiles().Single();
        var secondRecord = SegmentHeader + RecordHeader + 32;
        ChecksummedFileTests.FlipByte(segment, secondRecord + RecordHeader + 10);

        var ex = Assert.Throws<WalCorruptionException>(() => WriteAheadLog.Open(Options()));
        Assert.Equal(segment, ex.FilePath);
        Assert.Equal(secondRecord, ex.Offset);
        Assert.Contains(segment, ex.Message, StringComparison.Ordinal);
        Assert.Contains($"offset {secondRecord}", ex.Message, StringComparison.Ordinal);

        // Not repaired: the file is untouched and opening fails again.
        Assert.Equal(SegmentHeader + (5 * (RecordHeader + 32)), new FileInfo(segment).Length);
        _ = Assert.Throws<WalCorruptionException>(() => WriteAheadLog.Open(Options()));
    }

    [Fact]
    public async Task Corrupt_length_field_before_valid_records_throws()
    {
        await using (var wal = WriteAheadLog.Open(Options()))
        {
            for (var i = 1; i <= 5; i++)
            {
                _ = await wal.AppendAsync(Payload(i, 32));
            }
        }

        var segment = SegmentFiles().Single();
        ChecksummedFileTests.FlipByte(segment, SegmentHeader + 2); // length of record 1 becomes huge
        var ex = Assert.Throws<WalCorruptionException>(() => WriteAheadLog.Open(Options()));
        Assert.Equal(SegmentHeader, ex.Offset);
    }

    [Fact]
    public async Task Corruption_in_a_non_last_segment_throws_even_at_its_end()
    {
        await using (var wal = WriteAheadLog.Open(Options(segmentBytes: 256)))
        {
            for (var i = 1; i <= 20; i++)
            {
                _ = await wal.AppendAsync(Payload(i, 50));
            }
        }

        var first = SegmentFiles()[0];
        var length = new FileInfo(first).Length;
        ChecksummedFileTests.FlipByte(first, length - 1);
        var ex = Assert.Throws<WalCorruptionException>(() => WriteAheadLog.Open(Options(segmentBytes: 256)));
        Assert.Equal(first, ex.FilePath);
        Assert.Equal(length - RecordHeader - 50, ex.Offset);
    }

    [Fact]
    public async Task Missing_middle_segment_is_a_sequence_gap()
    {
        await using (var wal = WriteAheadLog.Open(Options(segmentBytes: 256)))
        {
            for (var i = 1; i <= 20; i++)
            {
                _ = await wal.AppendAsync(Payload(i, 50));
            }
        }

        var files = SegmentFiles();
        Assert.True(files.Length >= 3);
        File.Delete(files[1]);
        var ex = Assert.Throws<WalCorruptionException>(() => WriteAheadLog.Open(Options(segmentBytes: 256)));
        Assert.Equal(files[2], ex.FilePath);
        Assert.Contains("gap", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_magic_and_unsupported_version_throw_clearly()
    {
        await using (var wal = WriteAheadLog.Open(Options()))
        {
            _ = await wal.AppendAsync(Payload(1));
        }

        var segment = SegmentFiles().Single();
        var original = File.ReadAllBytes(segment);

        var badMagic = (byte[])original.Clone();
        badMagic[0] = (byte)'X';
        File.WriteAllBytes(segment, badMagic);
        var ex = Assert.Throws<WalCorruptionException>(() => WriteAheadLog.Open(Options()));
        Assert.Contains("magic", ex.Message, StringComparison.Ordinal);

        var newer = (byte[])original.Clone();
        BinaryPrimitives.WriteUInt16LittleEndian(newer.AsSpan(4), 2);
        BinaryPrimitives.WriteUInt32LittleEndian(newer.AsSpan(16), Crc32CChecksum.Compute(newer.AsSpan(0, 16)));
        File.WriteAllBytes(segment, newer);
        ex = Assert.Throws<WalCorruptionException>(() => WriteAheadLog.Open(Options()));
        Assert.Contains("unsupported WAL format version 2", ex.Message, StringComparison.Ordinal);
        Assert.Equal(4, ex.Offset);

        var badHeaderCrc = (byte[])original.Clone();
        badHeaderCrc[9] ^= 1;
        File.WriteAllBytes(segment, badHeaderCrc);
        ex = Assert.Throws<WalCorruptionException>(() => WriteAheadLog.Open(Options()));
        Assert.Contains("header checksum", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Failed_fsync_fails_the_appenders_and_faults_the_log()
    {
        await using (var wal = WriteAheadLog.Open(Options()))
        {
            _ = await wal.AppendAsync(Payload(1));
            wal.FaultInjection = point =>
            {
                if (point == "fsync")
                {
                    throw new IOException("No space left on device");
                }
            };

            var ex = await Assert.ThrowsAsync<IOException>(async () => await wal.AppendAsync(Payload(2)));
            Assert.Contains("No space", ex.Message, StringComparison.Ordinal);
            Assert.Equal(1ul, wal.LastSequence);

            var faulted = await Assert.ThrowsAsync<InvalidOperationException>(async () => await wal.AppendAsync(Payload(3)));
            Assert.IsType<IOException>(faulted.InnerException);
            _ = await Assert.ThrowsAsync<InvalidOperationException>(async () => await wal.AppendBatchAsync([Payload(4)]));
        }

        // The log reopens; the unacknowledged record may or may not be there, the acknowledged one is.
        await using (var wal = WriteAheadLog.Open(Options()))
        {
            Assert.InRange(wal.LastSequence, 1ul, 2ul);
            Assert.Equal(Payload(1), wal.ReadFrom(1).First().Data.ToArray());
            Assert.Equal(wal.LastSequence + 1, await wal.AppendAsync(Payload(5)));
        }
    }

    [Fact]
    public async Task Failed_write_fails_every_appender_of_the_group()
    {
        await using var wal = WriteAheadLog.Open(Options());
        wal.FaultInjection = _ => throw new IOException("disk full");
        var tasks = Enumerable.Range(0, 20).Select(i => wal.AppendAsync(Payload(i)).AsTask()).ToArray();
        foreach (var task in tasks)
        {
            var ex = await Assert.ThrowsAnyAsync<Exception>(() => task);
            Assert.True(ex is IOException || ex is InvalidOperationException { InnerException: IOException });
        }

        Assert.Equal(0ul, wal.LastSequence);
    }

    [Fact]
    public async Task Cancelled_append_is_not_written()
    {
        await using var wal = WriteAheadLog.Open(Options());
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        _ = await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await wal.AppendAsync(Payload(1), cts.Token));
        Assert.Equal(1ul, await wal.AppendAsync(Payload(2)));
        Assert.Equal(Payload(2), ReadAll(wal).Single().Data.ToArray());
    }

    [Fact]
    public async Task Dispose_flushes_pending_appends_and_then_rejects_new_ones()
    {
        var wal = WriteAheadLog.Open(Options());
        var pending = Enumerable.Range(1, 200).Select(i => wal.AppendAsync(Payload(i)).AsTask()).ToArray();
        await wal.DisposeAsync();
        var sequences = await Task.WhenAll(pending);
        Assert.Equal(Enumerable.Range(1, 200).Select(i => (ulong)i), sequences.Order());
        _ = await Assert.ThrowsAsync<ObjectDisposedException>(async () => await wal.AppendAsync(Payload(0)));
        await wal.DisposeAsync(); // idempotent

        await using var reopened = WriteAheadLog.Open(Options());
        Assert.Equal(200ul, reopened.LastSequence);
    }

    [Fact]
    public async Task A_directory_can_be_opened_by_one_log_at_a_time()
    {
        await using (var wal = WriteAheadLog.Open(Options()))
        {
            _ = Assert.Throws<IOException>(() => WriteAheadLog.Open(Options()));
        }

        await using var again = WriteAheadLog.Open(Options());
    }

    [Fact]
    public async Task Leftover_temp_segment_from_an_interrupted_roll_is_removed()
    {
        await using (var wal = WriteAheadLog.Open(Options()))
        {
            _ = await wal.AppendAsync(Payload(1));
        }

        var stray = _dir.Combine("wal-00000000000000000002.log.tmp");
        File.WriteAllBytes(stray, [1, 2, 3]);
        await using (var wal = WriteAheadLog.Open(Options()))
        {
            Assert.False(File.Exists(stray));
            Assert.Equal(2ul, await wal.AppendAsync(Payload(2)));
        }
    }

    [Fact]
    public async Task Large_records_bigger_than_the_write_buffer_round_trip()
    {
        var big = Payload(1, 3 * 1024 * 1024);
        await using (var wal = WriteAheadLog.Open(Options(segmentBytes: 1024 * 1024)))
        {
            _ = await wal.AppendAsync(Payload(0));
            _ = await wal.AppendBatchAsync([big, Payload(2), big]);
        }

        await using (var wal = WriteAheadLog.Open(Options(segmentBytes: 1024 * 1024)))
        {
            var all = ReadAll(wal);
            Assert.Equal(4, all.Count);
            Assert.Equal(big, all[1].Data.ToArray());
            Assert.Equal(Payload(2), all[2].Data.ToArray());
            Assert.Equal(big, all[3].Data.ToArray());
        }
    }
}
