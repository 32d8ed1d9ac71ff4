using System.Text;
using Quiver.Segment.Payloads;
using Quiver.Segment.Points;
using Quiver.Segment.Segments;

namespace Quiver.Segment.Tests.Segments;

/// <summary>
/// Payloads read from a mapped file (on_disk_payload): every position is checked against the file before any read,
/// and a segment that maps its payloads reads, deletes and takes them back into memory exactly.
/// </summary>
public sealed class MappedPayloadsTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"quiver-payloads-{Guid.NewGuid():N}.bin");

    public void Dispose() => File.Delete(_path);

    /// <summary>Writes each payload as its int32 length and UTF-8 bytes after a 16-byte header; returns the positions.</summary>
    private long[] Write(params string[] payloads)
    {
        using var file = new BinaryWriter(File.Create(_path));
        file.Write(new byte[16]);
        var positions = new long[payloads.Length];
        for (var i = 0; i < payloads.Length; i++)
        {
            var bytes = Encoding.UTF8.GetBytes(payloads[i]);
            file.Write(bytes.Length);
            positions[i] = file.BaseStream.Position;
            file.Write(bytes);
        }

        return positions;
    }

    [Fact]
    public void Positions_outside_the_file_or_lengths_past_its_end_are_refused_before_any_read()
    {
        var positions = Write("""{"a":1}""", "{}");
        Assert.Contains("outside the file", Assert.Throws<InvalidDataException>(() => new MappedPayloads(_path, [positions[0], 4096])).Message, StringComparison.Ordinal);
        Assert.Contains("outside the file", Assert.Throws<InvalidDataException>(() => new MappedPayloads(_path, [2])).Message, StringComparison.Ordinal);
        // One byte off: the length read there is garbage.
        Assert.Contains("past the file's end", Assert.Throws<InvalidDataException>(() => new MappedPayloads(_path, [positions[0] + 1])).Message, StringComparison.Ordinal);

        var mapped = new MappedPayloads(_path, positions);
        Assert.Equal("""{"a":1}""", Encoding.UTF8.GetString(mapped.Read(0).Utf8));
        Assert.False(mapped.IsEmptyAt(0));
        Assert.True(mapped.IsEmptyAt(1));
        Assert.Same(Payload.Empty, mapped.Read(1));
    }

    [Fact]
    public void A_segment_reads_mapped_payloads_deletes_through_them_and_takes_them_back_into_memory()
    {
        string[] json = ["""{"k":"x","n":0}""", "{}", """{"k":"y","n":2,"t":"é ✓"}""", """{"k":"x","n":3}"""];
        var positions = Write(json);
        var segment = new PointSegment([new SegmentVectorSpace("", 2, VectorMetric.Dot)]);
        for (var i = 0; i < json.Length; i++)
            segment.Upsert(PointId.FromNumber((ulong)i), 1, [new NamedVector("", [1f, i])], Payload.FromUtf8(Encoding.UTF8.GetBytes(json[i])));
        using (var schema = System.Text.Json.JsonDocument.Parse("\"keyword\""))
            segment.Indexes.Create("k", schema.RootElement, segment);
        Assert.Throws<InvalidOperationException>(() => segment.MapPayloads(new MappedPayloads(_path, positions)));
        segment.Seal();
        Assert.Throws<ArgumentException>(() => segment.MapPayloads(new MappedPayloads(_path, positions[..3])));

        segment.MapPayloads(new MappedPayloads(_path, positions));
        Assert.True(segment.PayloadsMapped);
        Assert.Equal(0, segment.PayloadBytes());
        for (var i = 0; i < json.Length; i++)
            Assert.Equal(json[i], Encoding.UTF8.GetString(segment.PayloadAt(i).Utf8));

        // The keyword index drops a deleted point, found through its payload read from the file.
        Assert.True(segment.Delete(PointId.FromNumber(3), 2));
        using var filterJson = System.Text.Json.JsonDocument.Parse("""{"must":[{"key":"k","match":{"value":"x"}}]}""");
        var filter = Quiver.Segment.Filtering.FilterParser.Parse(filterJson.RootElement);
        Assert.Equal([0], segment.Indexes.Set.Plan(filter).Candidates!.Order());

        var read = segment.ReadMappedPayloads();
        segment.HoldPayloads(read);
        Assert.False(segment.PayloadsMapped);
        Assert.Equal(Encoding.UTF8.GetByteCount(json[0]) + Encoding.UTF8.GetByteCount(json[2]), segment.PayloadBytes());
        File.Delete(_path);
        for (var i = 0; i < 3; i++)
            Assert.Equal(json[i], Encoding.UTF8.GetString(segment.PayloadAt(i).Utf8));
    }
}
