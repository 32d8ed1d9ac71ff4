using System.Text;
using System.Text.Json;
using Quiver.Segment.Payloads;

namespace Quiver.Segment.Tests.Payloads;

public sealed class PayloadOpsTests
{
    private static Payload P(string json) => Payload.FromUtf8(Encoding.UTF8.GetBytes(json));

    private static void Same(string expected, Payload actual)
    {
        using var e = JsonDocument.Parse(expected);
        Assert.True(JsonElement.DeepEquals(e.RootElement, actual.Root), $"expected {expected}, got {Encoding.UTF8.GetString(actual.Utf8)}");
    }

    [Theory]
    [InlineData("""{"a":1,"b":2}""", """{"b":3,"c":4}""", null, """{"a":1,"b":3,"c":4}""")]
    [InlineData("""{"a":1,"b":2}""", """{"b":null}""", null, """{"a":1}""")]
    [InlineData("""{"a":{"x":1}}""", """{"b":5}""", "a", """{"a":{"x":1,"b":5}}""")]
    [InlineData("""{"a":10}""", """{"x":1}""", "a.b.c", """{"a":{"b":{"c":{"x":1}}}}""")]
    [InlineData("""{}""", """{"c":1}""", "k1.k2[3]", """{"k1":{"k2":[null,null,null,{"c":1}]}}""")]
    [InlineData("""{}""", """{"c":1}""", "k1.k2[].k3", """{"k1":{"k2":[]}}""")]
    [InlineData("""{"a":{"b":[{"c":1},{"c":2}]}}""", """{"c":5}""", "a.b[1]", """{"a":{"b":[{"c":1},{"c":5}]}}""")]
    [InlineData("""{"a":[{"c":1},{"d":2}]}""", """{"e":0}""", "a[]", """{"a":[{"c":1,"e":0},{"d":2,"e":0}]}""")]
    [InlineData("""{"a":{"b":[1]}}""", """{}""", "a.b[0]", """{"a":{"b":[{}]}}""")]
    public void Set_merges_like_qdrant(string current, string values, string? key, string expected) =>
        Same(expected, PayloadOps.Set(P(current), P(values), key is null ? null : JsonPath.Parse(key)));

    [Fact]
    public void Set_does_not_mutate_inputs()
    {
        var current = P("""{"a":{"x":1}}""");
        var values = P("""{"y":2}""");
        PayloadOps.Set(current, values, JsonPath.Parse("a"));
        Same("""{"a":{"x":1}}""", current);
        Same("""{"y":2}""", values);
    }

    [Theory]
    [InlineData("b.c", """{"a":1,"b":{"e":{"f":[1,2,3],"i":[{"j":1,"k":2},{"j":3,"k":4}]}}}""")]
    [InlineData("b.e.f[1]", """{"a":1,"b":{"c":123,"e":{"f":[1,3],"i":[{"j":1,"k":2},{"j":3,"k":4}]}}}""")]
    [InlineData("b.e.i[].k", """{"a":1,"b":{"c":123,"e":{"f":[1,2,3],"i":[{"j":1},{"j":3}]}}}""")]
    [InlineData("b.e.i[]", """{"a":1,"b":{"c":123,"e":{"f":[1,2,3],"i":[]}}}""")]
    [InlineData("a", """{"b":{"c":123,"e":{"f":[1,2,3],"i":[{"j":1,"k":2},{"j":3,"k":4}]}}}""")]
    [InlineData("zz.y", """{"a":1,"b":{"c":123,"e":{"f":[1,2,3],"i":[{"j":1,"k":2},{"j":3,"k":4}]}}}""")]
    public void Delete_keys(string key, string expected)
    {
        var current = P("""{"a":1,"b":{"c":123,"e":{"f":[1,2,3],"i":[{"j":1,"k":2},{"j":3,"k":4}]}}}""");
        Same(expected, PayloadOps.DeleteKeys(current, [JsonPath.Parse(key)]));
    }

    [Fact]
    public void Overwrite_and_clear()
    {
        Same("""{"z":1}""", PayloadOps.Overwrite(P("""{"z":1}""")));
        Assert.True(PayloadOps.Clear().IsEmpty);
        Same("""{"c":3}""", PayloadOps.DeleteKeys(P("""{"a":1,"b":2,"c":3}"""), [JsonPath.Parse("a"), JsonPath.Parse("b")]));
    }
}
