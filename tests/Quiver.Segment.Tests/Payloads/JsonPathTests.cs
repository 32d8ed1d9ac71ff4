using System.Text.Json;
using Quiver.Segment.Errors;
using Quiver.Segment.Payloads;

namespace Quiver.Segment.Tests.Payloads;

public sealed class JsonPathTests
{
    [Theory]
    [InlineData("a", "a")]
    [InlineData("a.b-c_d.e1", "a.b-c_d.e1")]
    [InlineData("a[].b", "a[].b")]
    [InlineData("a[12][0]", "a[12][0]")]
    [InlineData("\"a b\".\"c.d\"[]", "\"a b\".\"c.d\"[]")]
    [InlineData("\"plain\".x", "plain.x")]
    [InlineData("ключ.值", "ключ.值")]
    public void Parses_and_formats(string text, string canonical) =>
        Assert.Equal(canonical, JsonPath.Parse(text).ToString());

    [Theory]
    [InlineData("")]
    [InlineData(".a")]
    [InlineData("a.")]
    [InlineData("a..b")]
    [InlineData("a b")]
    [InlineData("a[x]")]
    [InlineData("a[")]
    [InlineData("[0]")]
    [InlineData("a.\"b")]
    [InlineData("a.\"b\\\"c\"")]
    [InlineData("$.a")]
    public void Rejects_bad_syntax(string text)
    {
        var e = Assert.Throws<QuiverException>(() => JsonPath.Parse(text, "filter.must[0].key"));
        Assert.StartsWith("filter.must[0].key: invalid payload key path", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a", "[[1,2,3]]", "[1,2,3]")]
    [InlineData("arr[].a", "[[1,2,3],4]", "[1,2,3,4]")]
    [InlineData("arr[].a[]", "[1,2,3]", "[1,2,3]")]
    [InlineData("arr[0].a", "[[1,2,3]]", "[1,2,3]")]
    [InlineData("arr[5].a", "[]", "[]")]
    [InlineData("nested", "[[[1],2]]", "[[1],2]")]
    [InlineData("missing.x", "[]", "[]")]
    public void Collects_values(string path, string raw, string flattened)
    {
        using var doc = JsonDocument.Parse("""{"a":[1,2,3],"arr":[{"a":[1,2,3]},{"a":4},{"b":5}],"nested":[[1],2]}""");
        var p = JsonPath.Parse(path);
        var values = new List<JsonElement>();
        p.CollectRaw(doc.RootElement, values);
        Assert.Equal(raw, "[" + string.Join(",", values.Select(v => v.GetRawText())) + "]");
        values.Clear();
        p.Collect(doc.RootElement, values);
        var got = values.Select(v => v.GetRawText()).Order().ToList();
        using var expected = JsonDocument.Parse(flattened);
        Assert.Equal(expected.RootElement.EnumerateArray().Select(v => v.GetRawText()).Order().ToList(), got);
    }

    [Fact]
    public void Equality_is_by_canonical_form()
    {
        Assert.Equal(JsonPath.Parse("a.\"b\""), JsonPath.Parse("a.b"));
        Assert.NotEqual(JsonPath.Parse("a.b"), JsonPath.Parse("a[].b"));
        Assert.Equal("a[].b", JsonPath.Parse("a").ArrayElements().Concat(JsonPath.Parse("b")).ToString());
        Assert.Equal("a[]", JsonPath.Parse("a[]").ArrayElements().ToString());
    }
}
