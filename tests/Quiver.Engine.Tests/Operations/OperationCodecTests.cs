using System.Text;
using Quiver.Engine.Operations;
using Quiver.Segment.Payloads;
using Quiver.Segment.Points;

namespace Quiver.Engine.Tests.Operations;

public sealed class OperationCodecTests
{
    private static readonly PointId Uuid = PointId.FromUuid(Guid.Parse("5c56c793-69f3-4fbf-87e6-c4bf54c28c26"));

    [Fact]
    public void Upsert_round_trips_ids_vectors_and_payloads()
    {
        var op = new UpsertPoints(
        [
            new PointWrite(PointId.FromNumber(ulong.MaxValue), [new NamedVector("", [1f, -2.5f, float.Epsilon])], Payload.FromUtf8("""{"a":[1,"x",{"b":null}]}"""u8.ToArray())),
            new PointWrite(Uuid, [new NamedVector("image", [0.5f]), new NamedVector("text", [])], Payload.Empty),
        ]);
        var decoded = Assert.IsType<UpsertPoints>(OperationCodec.Decode(OperationCodec.Encode(op)));
        Assert.Equal(2, decoded.Points.Count);
        Assert.Equal(PointId.FromNumber(ulong.MaxValue), decoded.Points[0].Id);
        Assert.Equal([1f, -2.5f, float.Epsilon], decoded.Points[0].Vectors[0].Values);
        Assert.Equal("""{"a":[1,"x",{"b":null}]}""", Encoding.UTF8.GetString(decoded.Points[0].Payload.Utf8));
        Assert.Equal(Uuid, decoded.Points[1].Id);
        Assert.Equal(["image", "text"], decoded.Points[1].Vectors.Select(v => v.Name));
        Assert.Empty(decoded.Points[1].Vectors[1].Values);
    }

    [Fact]
    public void Sparse_vectors_round_trip_beside_dense_ones_and_format_1_logs_still_decode()
    {
        var sparse = SparseVector.Create([7, 2, 4_000_000_000], [0.5f, -1f, 3f]);
        var op = new UpdateVectors([new PointVectors(PointId.FromNumber(9), [new NamedVector("d", [1f, 2f]), NamedVector.OfSparse("s", sparse)])]);
        var decoded = Assert.IsType<UpdateVectors>(OperationCodec.Decode(OperationCodec.Encode(op)));
        var vectors = decoded.Points[0].Vectors;
        Assert.Equal([1f, 2f], vectors[0].Values);
        Assert.False(vectors[0].IsSparse);
        Assert.Equal([2u, 7u, 4_000_000_000u], vectors[1].Sparse!.Indices);
        Assert.Equal([-1f, 0.5f, 3f], vectors[1].Sparse!.Values);

        // A record of format 1 (dense only, no kind byte) as logs written before sparse vectors hold it.
        byte[] format1 = [1, 7, /* points */ 1, 0, 0, 0, /* id */ 0, 9, 0, 0, 0, 0, 0, 0, 0, /* vectors */ 1, 0, 0, 0, 1, 0, 0, 0, (byte)'d', 4, 0, 0, 0, 0, 0, 128, 63];
        var old = Assert.IsType<UpdateVectors>(OperationCodec.Decode(format1));
        Assert.Equal([1f], old.Points[0].Vectors[0].Values);
    }

    [Fact]
    public void Selector_operations_round_trip()
    {
        var filter = new FilterSpec("""{"must":[{"key":"a","match":{"value":1}}]}"""u8.ToArray());
        var ops = new PointOperation[]
        {
            new DeletePoints(PointSelector.ByIds([PointId.FromNumber(3), Uuid])),
            new DeletePoints(PointSelector.ByFilter(filter)),
            new SetPayload(Payload.FromUtf8("""{"x":1}"""u8.ToArray()), PointSelector.ByIds([PointId.FromNumber(1)]), "a.b"),
            new SetPayload(Payload.FromUtf8("""{"x":1}"""u8.ToArray()), PointSelector.ByFilter(filter), null),
            new OverwritePayload(Payload.Empty, PointSelector.ByIds([])),
            new DeletePayloadKeys(["a", "b.c[]"], PointSelector.ByFilter(filter)),
            new ClearPayload(PointSelector.ByIds([Uuid])),
            new UpdateVectors([new PointVectors(PointId.FromNumber(9), [new NamedVector("v", [3f])])]),
            new DeleteVectors(PointSelector.ByIds([PointId.FromNumber(9)]), ["v", "w"]),
            new CreateFieldIndex("city", "\"keyword\""u8.ToArray()),
            new DeleteFieldIndex("city"),
        };
        foreach (var op in ops)
        {
            var bytes = OperationCodec.Encode(op);
            var decoded = OperationCodec.Decode(bytes);
            Assert.Equal(op.GetType(), decoded.GetType());
            // Encoding the decoded operation gives the same bytes: nothing was lost or reordered.
            Assert.Equal(bytes, OperationCodec.Encode(decoded));
        }
    }

    [Fact]
    public void Unknown_format_is_rejected()
    {
        var bytes = OperationCodec.Encode(new DeleteFieldIndex("x"));
        bytes[0] = 99;
        Assert.Throws<InvalidDataException>(() => OperationCodec.Decode(bytes));
    }
}
