using System.Text;
using Quiver.Engine.Operations;
using Quiver.Ingest.Connectors;
using Quiver.Ingest.Events;
using Quiver.Segment.Points;

namespace Quiver.Ingest.Tests.Events;

public sealed class EventDecoderTests
{
    private static (PointOperation? Operation, string? Error) Decode(string json, string? key = null, IdSource idFrom = IdSource.Event)
    {
        EventDecoder.TryDecode(Encoding.UTF8.GetBytes(json), key, idFrom, out var operation, out var error);
        return (operation, error);
    }

    [Fact]
    public void Upsert_reads_the_id_vector_and_payload()
    {
        var (op, error) = Decode("""{"op":"upsert","id":7,"vector":[0.5,1.5],"payload":{"a":"x"}}""");
        Assert.Null(error);
        var point = Assert.Single(Assert.IsType<UpsertPoints>(op).Points);
        Assert.Equal(PointId.FromNumber(7), point.Id);
        Assert.Equal([0.5f, 1.5f], Assert.Single(point.Vectors).Values);
        Assert.Equal("""{"a":"x"}""", Encoding.UTF8.GetString(point.Payload.Utf8));
    }

    [Fact]
    public void Named_vectors_and_uuid_ids_read_as_the_rest_api_reads_them()
    {
        var (op, error) = Decode("""{"op":"upsert","id":"5c56c793-69f3-4fbf-87e6-c4bf54c28c26","vector":{"img":[1,2],"txt":[3]}}""");
        Assert.Null(error);
        var point = Assert.Single(Assert.IsType<UpsertPoints>(op).Points);
        Assert.True(point.Id.IsUuid);
        Assert.Equal(["img", "txt"], point.Vectors.Select(v => v.Name));
    }

    [Fact]
    public void Delete_and_set_payload_select_the_one_id()
    {
        var delete = Assert.IsType<DeletePoints>(Decode("""{"op":"delete","id":3}""").Operation);
        Assert.Equal([PointId.FromNumber(3)], delete.Selector.Ids);
        var set = Assert.IsType<SetPayload>(Decode("""{"op":"set_payload","id":3,"payload":{"b":2}}""").Operation);
        Assert.Equal([PointId.FromNumber(3)], set.Selector.Ids);
        Assert.Null(set.Key);
    }

    [Fact]
    public void The_key_gives_the_id_only_when_configured_and_the_event_has_none()
    {
        Assert.Equal(PointId.FromNumber(42), Assert.IsType<DeletePoints>(Decode("""{"op":"delete"}""", "42", IdSource.Key).Operation).Selector.Ids![0]);
        Assert.Equal(PointId.FromNumber(1), Assert.IsType<DeletePoints>(Decode("""{"op":"delete","id":1}""", "42", IdSource.Key).Operation).Selector.Ids![0]);
        Assert.Equal("`id` is required", Decode("""{"op":"delete"}""", "42").Error);
        Assert.Contains("the key 'abc' is not a point id", Decode("""{"op":"delete"}""", "abc", IdSource.Key).Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not json", "not JSON")]
    [InlineData("[1,2]", "an event must be a JSON object")]
    [InlineData("""{"id":1,"vector":[1]}""", "`op` is required")]
    [InlineData("""{"op":"merge","id":1}""", "op 'merge' is unknown")]
    [InlineData("""{"op":"upsert","id":1}""", "`vector` is required for upsert")]
    [InlineData("""{"op":"upsert","id":1,"text":"hello"}""", "`text` needs server-side embedding")]
    [InlineData("""{"op":"upsert","id":-1,"vector":[1]}""", "id")]
    [InlineData("""{"op":"upsert","id":1,"vector":[1,"x"]}""", "vector[1]: expected a number")]
    [InlineData("""{"op":"upsert","id":1,"vector":[1],"payload":[1]}""", "payload: expected a JSON object")]
    [InlineData("""{"op":"set_payload","id":1}""", "`payload` is required for set_payload")]
    [InlineData("""{"op":"delete","id":1,"schema_version":2}""", "schema_version 2 is not supported")]
    [InlineData("""{"op":"delete","id":1,"schema_version":"1"}""", "schema_version \"1\" is not supported")]
    public void Poison_events_are_outcomes_with_a_reason(string json, string reason)
    {
        var (op, error) = Decode(json);
        Assert.Null(op);
        Assert.NotNull(error);
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Broken_utf8_anywhere_is_poison_not_a_crash()
    {
        foreach (var text in new[] { "{\"op\":\"dele\u0001\",\"id\":1}", "{\"op\":\"upsert\",\"id\":1,\"vector\":[1],\"payload\":{\"a\":\"x\u0001\"}}" })
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            bytes[Array.IndexOf(bytes, (byte)1)] = 0xC3; // a lead byte with no continuation
            Assert.False(EventDecoder.TryDecode(bytes, null, IdSource.Event, out var op, out var error));
            Assert.Null(op);
            Assert.Equal("not UTF-8 text", error);
        }
    }

    [Fact]
    public void Schema_version_1_is_accepted()
    {
        Assert.Null(Decode("""{"op":"delete","id":1,"schema_version":1}""").Error);
    }
}
