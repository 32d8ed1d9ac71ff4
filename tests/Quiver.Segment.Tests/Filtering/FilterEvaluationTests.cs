using Quiver.Segment.Filtering;
using Quiver.Segment.PayloadIndex;
using Quiver.Segment.Payloads;

namespace Quiver.Segment.Tests.Filtering;

public sealed class FilterEvaluationTests
{
    private static string Must(string condition) => $$"""{"must":[{{condition}}]}""";

    [Theory]
    // match value: keyword, integer, bool; arrays match if any element does
    [InlineData("""{"key":"c","match":{"value":"red"}}""", """{"c":"red"}""", true)]
    [InlineData("""{"key":"c","match":{"value":"red"}}""", """{"c":"Red"}""", false)]
    [InlineData("""{"key":"c","match":{"value":"red"}}""", """{"c":["blue","red"]}""", true)]
    [InlineData("""{"key":"c","match":{"value":"red"}}""", """{"c":[["red"]]}""", false)]
    [InlineData("""{"key":"c","match":{"value":"1"}}""", """{"c":1}""", false)]
    [InlineData("""{"key":"n","match":{"value":1}}""", """{"n":1}""", true)]
    [InlineData("""{"key":"n","match":{"value":1}}""", """{"n":1.5}""", false)]
    [InlineData("""{"key":"n","match":{"value":1}}""", """{"n":1.0}""", false)]
    [InlineData("""{"key":"n","match":{"value":1}}""", """{"n":"1"}""", false)]
    [InlineData("""{"key":"n","match":{"value":1}}""", """{"n":[3,1]}""", true)]
    [InlineData("""{"key":"b","match":{"value":true}}""", """{"b":true}""", true)]
    [InlineData("""{"key":"b","match":{"value":true}}""", """{"b":1}""", false)]
    [InlineData("""{"key":"c","match":{"value":"red"}}""", """{}""", false)]
    // any / except
    [InlineData("""{"key":"c","match":{"any":["red","green"]}}""", """{"c":"green"}""", true)]
    [InlineData("""{"key":"c","match":{"any":["red","green"]}}""", """{"c":["x","red"]}""", true)]
    [InlineData("""{"key":"c","match":{"any":[]}}""", """{"c":"red"}""", false)]
    [InlineData("""{"key":"n","match":{"any":[1,2]}}""", """{"n":2}""", true)]
    [InlineData("""{"key":"n","match":{"any":[1,2]}}""", """{"n":2.5}""", false)]
    [InlineData("""{"key":"c","match":{"except":["red"]}}""", """{"c":"blue"}""", true)]
    [InlineData("""{"key":"c","match":{"except":["red"]}}""", """{"c":"red"}""", false)]
    [InlineData("""{"key":"c","match":{"except":["red"]}}""", """{"c":["red","blue"]}""", true)]
    [InlineData("""{"key":"c","match":{"except":["red"]}}""", """{"c":["red"]}""", false)]
    [InlineData("""{"key":"c","match":{"except":["red"]}}""", """{"c":[]}""", false)]
    [InlineData("""{"key":"c","match":{"except":["red"]}}""", """{}""", false)]
    [InlineData("""{"key":"c","match":{"except":["red"]}}""", """{"c":null}""", false)]
    [InlineData("""{"key":"c","match":{"except":["red"]}}""", """{"c":5}""", true)]
    [InlineData("""{"key":"n","match":{"except":[1]}}""", """{"n":1.5}""", true)]
    [InlineData("""{"key":"n","match":{"except":[1]}}""", """{"n":1}""", false)]
    // text without an index: case-sensitive substring; phrase too; prefix
    [InlineData("""{"key":"t","match":{"text":"quick brown"}}""", """{"t":"the quick brown fox"}""", true)]
    [InlineData("""{"key":"t","match":{"text":"brown quick"}}""", """{"t":"the quick brown fox"}""", false)]
    [InlineData("""{"key":"t","match":{"text":"Quick"}}""", """{"t":"the quick brown fox"}""", false)]
    [InlineData("""{"key":"t","match":{"phrase":"brown fox"}}""", """{"t":"the quick brown fox"}""", true)]
    [InlineData("""{"key":"t","match":{"text_any":"cat fox"}}""", """{"t":"the quick brown fox"}""", true)]
    [InlineData("""{"key":"t","match":{"prefix":"the q"}}""", """{"t":"the quick"}""", true)]
    [InlineData("""{"key":"t","match":{"prefix":"quick"}}""", """{"t":"the quick"}""", false)]
    // number range: ints and floats, bounds
    [InlineData("""{"key":"p","range":{"gt":1,"lt":2}}""", """{"p":1.5}""", true)]
    [InlineData("""{"key":"p","range":{"gt":1}}""", """{"p":1}""", false)]
    [InlineData("""{"key":"p","range":{"gte":1}}""", """{"p":1}""", true)]
    [InlineData("""{"key":"p","range":{"lte":1.5}}""", """{"p":[7,1]}""", true)]
    [InlineData("""{"key":"p","range":{"lt":1}}""", """{"p":"0"}""", false)]
    [InlineData("""{"key":"p","range":{"lt":1}}""", """{}""", false)]
    [InlineData("""{"key":"p","range":{}}""", """{"p":3}""", true)]
    // datetime range: instants, several formats
    [InlineData("""{"key":"d","range":{"gte":"2024-01-01T00:00:00Z","lt":"2024-02-01"}}""", """{"d":"2024-01-15T10:00:00+02:00"}""", true)]
    [InlineData("""{"key":"d","range":{"gt":"2024-01-01T00:00:00Z"}}""", """{"d":"2024-01-01T01:00:00+01:00"}""", false)]
    [InlineData("""{"key":"d","range":{"gt":"2024-01-01T00:00:00Z"}}""", """{"d":"2024-01-01T01:00:00+0059"}""", true)]
    [InlineData("""{"key":"d","range":{"lte":"2024-01-01 10:30"}}""", """{"d":"2024-01-01T10:30:00.000000001Z"}""", true)]
    [InlineData("""{"key":"d","range":{"lt":"2024-01-01 10:30:00"}}""", """{"d":"2024-01-01 10:29:59.5"}""", true)]
    [InlineData("""{"key":"d","range":{"lt":"2024-01-01"}}""", """{"d":"not a date"}""", false)]
    [InlineData("""{"key":"d","range":{"lt":"2024-01-01"}}""", """{"d":["2025-01-01","2023-12-31"]}""", true)]
    // values_count
    [InlineData("""{"key":"a","values_count":{"gte":2}}""", """{"a":[1,2]}""", true)]
    [InlineData("""{"key":"a","values_count":{"gt":2}}""", """{"a":[1,2]}""", false)]
    [InlineData("""{"key":"a","values_count":{"lte":1}}""", """{"a":"x"}""", true)]
    [InlineData("""{"key":"a","values_count":{"lt":1}}""", """{"a":null}""", true)]
    [InlineData("""{"key":"a","values_count":{"lt":1}}""", """{}""", false)]
    [InlineData("""{"key":"a[].b","values_count":{"gt":1}}""", """{"a":[{"b":[1,2]},{"b":1}]}""", true)]
    // is_empty / is_null
    [InlineData("""{"is_empty":{"key":"a"}}""", """{}""", true)]
    [InlineData("""{"is_empty":{"key":"a"}}""", """{"a":null}""", true)]
    [InlineData("""{"is_empty":{"key":"a"}}""", """{"a":[]}""", true)]
    [InlineData("""{"is_empty":{"key":"a"}}""", """{"a":[null]}""", false)]
    [InlineData("""{"is_empty":{"key":"a"}}""", """{"a":0}""", false)]
    [InlineData("""{"is_empty":{"key":"a"}}""", """{"a":""}""", false)]
    [InlineData("""{"is_null":{"key":"a"}}""", """{"a":null}""", true)]
    [InlineData("""{"is_null":{"key":"a"}}""", """{}""", false)]
    [InlineData("""{"is_null":{"key":"a"}}""", """{"a":[]}""", false)]
    [InlineData("""{"is_null":{"key":"a"}}""", """{"a":[null]}""", false)]
    [InlineData("""{"is_null":{"key":"a[].b"}}""", """{"a":[{"b":1},{"b":null}]}""", true)]
    [InlineData("""{"key":"a","is_empty":true}""", """{"a":[]}""", true)]
    [InlineData("""{"key":"a","is_empty":false}""", """{"a":[]}""", false)]
    [InlineData("""{"key":"a","is_null":true}""", """{"a":null}""", true)]
    // paths
    [InlineData("""{"key":"a.b.c","match":{"value":1}}""", """{"a":{"b":{"c":1}}}""", true)]
    [InlineData("""{"key":"a[].b","match":{"value":2}}""", """{"a":[{"b":1},{"b":2}]}""", true)]
    [InlineData("""{"key":"a.b","match":{"value":2}}""", """{"a":[{"b":1},{"b":2}]}""", false)]
    [InlineData("""{"key":"a[1].b","match":{"value":1}}""", """{"a":[{"b":1},{"b":2}]}""", false)]
    [InlineData("""{"key":"a[0].b","match":{"value":1}}""", """{"a":[{"b":1},{"b":2}]}""", true)]
    [InlineData("""{"key":"a.\"x.y\"","match":{"value":1}}""", """{"a":{"x.y":1}}""", true)]
    [InlineData("""{"key":"a[][]","match":{"value":3}}""", """{"a":[[1],[2,3]]}""", true)]
    public void Field_conditions(string condition, string payload, bool expected) =>
        Assert.Equal(expected, TestPoint.Matches(Must(condition), payload));

    [Theory]
    [InlineData("""{"must":[]}""", true)]
    [InlineData("""{}""", true)]
    [InlineData("""{"should":[]}""", false)]
    [InlineData("""{"must_not":[]}""", true)]
    [InlineData("""{"should":[{"key":"a","match":{"value":1}},{"key":"a","match":{"value":2}}]}""", true)]
    [InlineData("""{"should":[{"key":"a","match":{"value":3}}]}""", false)]
    [InlineData("""{"must_not":[{"key":"a","match":{"value":1}}]}""", false)]
    [InlineData("""{"must_not":{"key":"a","match":{"value":9}}}""", true)]
    [InlineData("""{"must":{"key":"a","match":{"value":1}},"should":{"key":"b","match":{"value":"x"}}}""", true)]
    [InlineData("""{"min_should":{"conditions":[{"key":"a","match":{"value":1}},{"key":"b","match":{"value":"x"}},{"key":"c","match":{"value":1}}],"min_count":2}}""", true)]
    [InlineData("""{"min_should":{"conditions":[{"key":"a","match":{"value":1}},{"key":"b","match":{"value":"y"}},{"key":"c","match":{"value":1}}],"min_count":2}}""", false)]
    [InlineData("""{"must":[{"must_not":[{"key":"a","match":{"value":1}}]}]}""", false)]
    [InlineData("""{"must":[{"should":[{"key":"a","match":{"value":5}},{"key":"b","match":{"value":"x"}}]}]}""", true)]
    [InlineData("""{"must":[{}]}""", true)]
    public void Boolean_clauses(string filter, bool expected) =>
        Assert.Equal(expected, TestPoint.Matches(filter, """{"a":1,"b":"x"}"""));

    [Theory]
    [InlineData("""{"must":[{"nested":{"key":"d","filter":{"must":[{"key":"n","match":{"value":"a"}},{"key":"v","range":{"gt":5}}]}}}]}""", false)]
    [InlineData("""{"must":[{"nested":{"key":"d","filter":{"must":[{"key":"n","match":{"value":"b"}},{"key":"v","range":{"gt":5}}]}}}]}""", true)]
    [InlineData("""{"must":[{"nested":{"key":"d[]","filter":{"must":[{"key":"n","match":{"value":"b"}}]}}}]}""", true)]
    [InlineData("""{"must":[{"nested":{"key":"d","filter":{"must_not":[{"key":"v","range":{"gt":5}}]}}}]}""", true)]
    [InlineData("""{"must":[{"nested":{"key":"d","filter":{"must":[{"is_empty":{"key":"x"}}]}}}]}""", true)]
    [InlineData("""{"must":[{"nested":{"key":"d","filter":{"must":[{"has_id":[1]}]}}}]}""", false)]
    [InlineData("""{"must":[{"nested":{"key":"missing","filter":{}}}]}""", false)]
    // without nested, conditions on d[] fields are checked independently
    [InlineData("""{"must":[{"key":"d[].n","match":{"value":"a"}},{"key":"d[].v","range":{"gt":5}}]}""", true)]
    public void Nested_applies_the_filter_per_element(string filter, bool expected) =>
        Assert.Equal(expected, TestPoint.Matches(filter, """{"d":[{"n":"a","v":1},{"n":"b","v":9},3]}"""));

    [Fact]
    public void Has_id_and_has_vector()
    {
        var point = new TestPoint(7, "{}", "img");
        Assert.True(FilterEvaluator.Matches(TestPoint.ParseFilter("""{"must":[{"has_id":[1,7]}]}"""), point));
        Assert.False(FilterEvaluator.Matches(TestPoint.ParseFilter("""{"must":[{"has_id":[1]}]}"""), point));
        Assert.False(FilterEvaluator.Matches(TestPoint.ParseFilter("""{"must":[{"has_id":["550e8400-e29b-41d4-a716-446655440000"]}]}"""), point));
        Assert.True(FilterEvaluator.Matches(TestPoint.ParseFilter("""{"must":[{"has_vector":"img"}]}"""), point));
        Assert.False(FilterEvaluator.Matches(TestPoint.ParseFilter("""{"must":[{"has_vector":"txt"}]}"""), point));
    }

    [Theory]
    [InlineData("""{"text":"Quick FOX"}""", "word", true)]
    [InlineData("""{"text":"fox quick"}""", "word", true)]
    [InlineData("""{"text":"quick cat"}""", "word", false)]
    [InlineData("""{"text":"qui"}""", "word", false)]
    [InlineData("""{"text":"qui"}""", "prefix", true)]
    [InlineData("""{"text_any":"cat fox"}""", "word", true)]
    [InlineData("""{"phrase":"brown fox"}""", "word", true)]
    [InlineData("""{"phrase":"fox brown"}""", "word", false)]
    [InlineData("""{"phrase":"lazy the"}""", "word", false)]
    [InlineData("""{"text":"fox, lazy"}""", "word", true)]
    [InlineData("""{"text":"fox,"}""", "whitespace", true)]
    public void Text_index_switches_to_token_semantics(string match, string tokenizer, bool expected)
    {
        var set = new PayloadIndexSet();
        using var doc = System.Text.Json.JsonDocument.Parse($$"""{"type":"text","tokenizer":"{{tokenizer}}"}""");
        set.Create(JsonPath.Parse("t"), PayloadSchemaParser.Parse(doc.RootElement));
        var filter = $$"""{"must":[{"key":"t","match":{{match}}}]}""";
        Assert.Equal(expected, TestPoint.Matches(filter, """{"t":["The quick brown fox,", "the lazy dog"]}""", set));
    }

    [Fact]
    public void Text_index_applies_inside_nested_filter()
    {
        var set = new PayloadIndexSet();
        set.Create(JsonPath.Parse("items[].d"), PayloadFieldSchema.Of(PayloadSchemaType.Text));
        const string filter = """{"must":[{"nested":{"key":"items","filter":{"must":[{"key":"d","match":{"text":"RED car"}}]}}}]}""";
        const string payload = """{"items":[{"d":"a car that is red"}]}""";
        Assert.True(TestPoint.Matches(filter, payload, set));
        Assert.False(TestPoint.Matches(filter, payload));
    }

    [Fact]
    public void Compiled_filter_is_reusable()
    {
        var compiled = TestPoint.ParseFilter("""{"must":[{"key":"a","match":{"any":[1,2]}}]}""").Compile();
        Assert.True(compiled.Matches(new TestPoint(1, """{"a":1}""")));
        Assert.False(compiled.Matches(new TestPoint(2, """{"a":3}""")));
        Assert.True(compiled.Matches(new TestPoint(3, """{"a":[3,2]}""")));
    }
}
