using Qdrant.Client.Grpc;
using Quiver.Server.Grpc;

namespace Quiver.Server.Tests.Grpc;

/// <summary>Settings messages become the REST JSON a REST client would send for the same settings.</summary>
public sealed class ProtoJsonTests
{
    [Fact]
    public void Enums_take_rest_spelling_and_required_fields_are_kept_at_their_zero_value()
    {
        var product = new QuantizationConfig { Product = new ProductQuantization { Compression = CompressionRatio.X4 } };
        Assert.Equal("""{"product":{"compression":"x4"}}""", ProtoJson.Settings(product).ToJsonString());
        var binary = new QuantizationConfig { Binary = new BinaryQuantization { Encoding = BinaryQuantizationEncoding.TwoBits } };
        Assert.Equal("""{"binary":{"encoding":"two_bits"}}""", ProtoJson.Settings(binary).ToJsonString());
        var scalar = new QuantizationConfig { Scalar = new ScalarQuantization { Type = QuantizationType.Int8, Quantile = 0.5f } };
        Assert.Equal("""{"scalar":{"type":"int8","quantile":0.5}}""", ProtoJson.Settings(scalar).ToJsonString());
        var vector = new VectorParams { Size = 4, Distance = Distance.Cosine, Datatype = Datatype.Float16 };
        Assert.Equal("""{"size":4,"distance":"Cosine","datatype":"float16"}""", ProtoJson.Settings(vector).ToJsonString());
        // Optional fields left unset stay out.
        Assert.Equal("""{"m":16}""", ProtoJson.Settings(new HnswConfigDiff { M = 16 }).ToJsonString());
    }

    [Fact]
    public void Rest_settings_read_back_into_messages_with_enums_in_any_case()
    {
        var parsed = ProtoJson.ToSettings<VectorParams>(System.Text.Json.Nodes.JsonNode.Parse("""{"size":4,"distance":"Dot","datatype":"float16","unknown":1}""")!.AsObject());
        Assert.Equal(4UL, parsed.Size);
        Assert.Equal(Distance.Dot, parsed.Distance);
        Assert.Equal(Datatype.Float16, parsed.Datatype);
        var binary = ProtoJson.ToSettings<BinaryQuantization>(System.Text.Json.Nodes.JsonNode.Parse("""{"encoding":"two_bits","always_ram":true}""")!.AsObject());
        Assert.Equal(BinaryQuantizationEncoding.TwoBits, binary.Encoding);
    }

    [Fact]
    public void Payload_doubles_stay_doubles_and_non_finite_numbers_are_refused()
    {
        var payload = new Google.Protobuf.Collections.MapField<string, Value> { ["d"] = 2.0, ["i"] = 2, ["big"] = 1e20, ["list"] = new Value { ListValue = new ListValue { Values = { 1.5, 3 } } } };
        var json = ProtoJson.FromPayload(payload).ToJsonString();
        Assert.Equal("""{"d":2.0,"i":2,"big":1E+20,"list":[1.5,3]}""", json);
        var back = new Google.Protobuf.Collections.MapField<string, Value>();
        ProtoJson.ToPayload(System.Text.Encoding.UTF8.GetBytes(json), back);
        Assert.Equal(Value.KindOneofCase.DoubleValue, back["d"].KindCase);
        Assert.Equal(Value.KindOneofCase.IntegerValue, back["i"].KindCase);
        Assert.Equal(Value.KindOneofCase.DoubleValue, back["big"].KindCase);
        Assert.Throws<Segment.Errors.QuiverException>(() => ProtoJson.FromPayload(new Google.Protobuf.Collections.MapField<string, Value> { ["x"] = double.NaN }));
        Assert.Throws<Segment.Errors.QuiverException>(() => ProtoJson.Settings(new Qdrant.Client.Grpc.Range { Lt = double.PositiveInfinity }));
    }
}
