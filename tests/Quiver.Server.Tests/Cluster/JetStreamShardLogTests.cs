using Quiver.Cluster;
using Quiver.Server.Tests.Infrastructure;

namespace Quiver.Server.Tests.Cluster;

/// <summary>
/// The shard log on JetStream (cluster mode), against a real nats-server: contiguous durable appends, reads from
/// any sequence, reopening by another writer, single-writer fencing and truncation.
/// </summary>
public sealed class JetStreamShardLogTests(NatsFixture fixture) : IClassFixture<NatsFixture>
{
    private readonly NatsServer _nats = fixture.Server;

    private static JetStreamShardLogOptions Options(string shard, string writer) =>
        new() { Stream = $"QUIVER_LOG_{shard}", Subject = $"quiver.log.{shard}", WriterId = writer };

    private static byte[] Record(int i) => [.. BitConverter.GetBytes(i), (byte)'r'];

    [Fact]
    public async Task Appends_are_contiguous_durable_readable_from_any_sequence_and_survive_reopening()
    {
        await using var connection = await _nats.ConnectAsync();
        var durable = new List<(ulong First, int Count)>();
        await using (var log = await JetStreamShardLog.OpenAsync(connection, Options("a", "w1")))
        {
            log.OnDurable = (first, records) => durable.Add((first, records.Count));
            Assert.Equal(0ul, log.LastSequence);
            Assert.Equal(1ul, await log.AppendAsync(Record(1)));
            Assert.Equal(2ul, await log.AppendAsync(Record(2)));
            Assert.Equal(3ul, await log.AppendBatchAsync([Record(3), Record(4), Record(5)]));
            Assert.Equal(5ul, log.LastSequence);
            Assert.Equal([(1ul, 1), (2ul, 1), (3ul, 3)], durable);
            Assert.True(log.SizeBytes > 0);

            var read = log.ReadFrom(2).ToList();
            Assert.Equal([2ul, 3ul, 4ul, 5ul], read.Select(r => r.Sequence));
            Assert.Equal(Record(4), read[2].Data.ToArray());
            Assert.Empty(log.ReadFrom(6));
        }

        // Another process (another writer id) opening the same shard's log continues after the last record.
        await using var reopened = await JetStreamShardLog.OpenAsync(connection, Options("a", "w2"));
        Assert.Equal(5ul, reopened.LastSequence);
        Assert.Equal(6ul, await reopened.AppendAsync(Record(6)));
        Assert.Equal(Enumerable.Range(1, 6).Select(i => Record(i)), reopened.ReadFrom(1).Select(r => r.Data.ToArray()));
    }

    [Fact]
    public async Task A_second_writer_fences_the_first_and_truncation_drops_old_records()
    {
        await using var connection = await _nats.ConnectAsync();
        await using var first = await JetStreamShardLog.OpenAsync(connection, Options("b", "w1"));
        Assert.Equal(1ul, await first.AppendAsync(Record(1)));

        await using var second = await JetStreamShardLog.OpenAsync(connection, Options("b", "w2"));
        Assert.Equal(2ul, await second.AppendAsync(Record(2)));
        // The first writer still expects sequence 1 to be the last: its append is refused, nothing is interleaved.
        await Assert.ThrowsAsync<ShardLogFencedException>(async () => await first.AppendAsync(Record(99)));
        Assert.Equal([1ul, 2ul], second.ReadFrom(1).Select(r => r.Sequence));
        Assert.Equal(Record(2), second.ReadFrom(2).Single().Data.ToArray());

        second.TruncateBefore(2);
        Assert.Equal(2ul, second.FirstSequence);
        Assert.Equal([2ul], second.ReadFrom(1).Select(r => r.Sequence));
        Assert.Equal(3ul, await second.AppendAsync(Record(3)));
    }
}
