using System.Text.Json;
using Quiver.Segment.Errors;
using Quiver.Segment.Filtering;

namespace Quiver.Segment.Tests.Filtering;

public sealed class FilterParserTests
{
    private static string Error(string json)
    {
        var e = Assert.Throws<QuiverException>(() => TestPoint.ParseFilter(json));
        Assert.Equal(ErrorKind.BadInput, e.Error.Kind);
        return e.Message;
    }

    [Fact]
    public void Parses_all_condition_kinds()
    {
        var f = TestPoint.ParseFilter("""
        {"must":[
          {"key":"a","match":{"value":"x"}},
          {"key":"b","range":{"gt":1,"lte":2.5}},
          {"key":"c","range":{"gte":"2024-01-01T00:00:00Z"}},
          {"key":"d","values_count":{"gt":1}},
          {"is_empty":{"key":"e"}},
          {"is_null":{"key":"f"}},
          {"has_id":[1,"550e8400-e29b-41d4-a716-446655440000"]},
          {"has_vector":"img"},
          {"nested":{"key":"g","filter":{"must":{"key":"h","match":{"any":[1,2]}}}}},
          {"should":[{"key":"i","match":{"except":["x"]}}]},
          {"key":"j","match":{"text":"hello"}},
          {"key":"k","match":{"phrase":"hello world"}}
        ],
        "min_should":{"conditions":[{"key":"a","match":{"value":true}}],"min_count":1},
        "must_not":{"key":"z","match":{"value":5}}}
        """);
        Assert.Equal(12, f.Must!.Count);
        Assert.IsType<FieldCondition>(f.Must[0]);
        Assert.NotNull(((FieldCondition)f.Must[1]).Range);
        Assert.NotNull(((FieldCondition)f.Must[2]).DatetimeRange);
        Assert.IsType<IsEmptyCondition>(f.Must[4]);
        Assert.IsType<IsNullCondition>(f.Must[5]);
        Assert.Equal(2, ((HasIdCondition)f.Must[6]).Ids.Count);
        Assert.IsType<HasVectorCondition>(f.Must[7]);
        Assert.IsType<NestedCondition>(f.Must[8]);
        Assert.IsType<FilterCondition>(f.Must[9]);
        Assert.Single(f.MustNot!);
        Assert.Equal(1, f.MinShould!.MinCount);
    }

    [Fact]
    public void Null_clauses_are_absent()
    {
        var f = TestPoint.ParseFilter("""{"must":null,"should":null,"must_not":null,"min_should":null}""");
        Assert.Null(f.Must);
        Assert.Null(f.Should);
    }

    [Theory]
    [InlineData("""{"must":[{"key":"a","match":{"value":1}},{"key":"b","range":{"gt":"x"}}]}""", "filter.must[1].range.gt")]
    [InlineData("""{"must":[{"key":"a","match":{"value":1}},{"key":"b","range":{"gt":1,"lt":"2024-01-01"}}]}""", "filter.must[1].range.lt: expected a number")]
    [InlineData("""{"must":[{"key":"b","range":{"gt":"2024-01-01","lt":3}}]}""", "filter.must[0].range.lt: expected an RFC 3339")]
    [InlineData("""{"mus":[]}""", "filter: unknown field `mus`")]
    [InlineData("""{"must":[{"key":"a","match":{"value":1.5}}]}""", "filter.must[0].match.value")]
    [InlineData("""{"must":[{"key":"a","match":{"valu":1}}]}""", "filter.must[0].match: unknown field `valu`")]
    [InlineData("""{"must":[{"key":"a","match":{"any":["x",1]}}]}""", "filter.must[0].match.any[1]: expected a string")]
    [InlineData("""{"must":[{"key":"a"}]}""", "filter.must[0]: at least one field condition")]
    [InlineData("""{"must":[{"key":"a","foo":1}]}""", "filter.must[0]: unknown field `foo`")]
    [InlineData("""{"must":[{"key":"a..b","match":{"value":1}}]}""", "filter.must[0].key: invalid payload key path")]
    [InlineData("""{"must":[{"key":"a","values_count":{"gt":-1}}]}""", "filter.must[0].values_count.gt: expected a non-negative integer")]
    [InlineData("""{"should":[{"has_id":[-1]}]}""", "filter.should[0].has_id[0]")]
    [InlineData("""{"must":5}""", "filter.must: expected a condition or a list of conditions")]
    [InlineData("""{"must":[{"is_empty":{"key":"a"},"x":1}]}""", "filter.must[0]: unknown field `x`")]
    [InlineData("""{"must":[{"nested":{"key":"a"}}]}""", "filter.must[0].nested: missing field `filter`")]
    [InlineData("""{"must":[{"nested":{"key":"a","filter":{"must":[{"key":"b","range":{"lt":true}}]}}}]}""", "filter.must[0].nested.filter.must[0].range.lt: expected a number")]
    [InlineData("""{"min_should":{"conditions":[],"min_count":0}}""", "filter.min_should.min_count: must be at least 1")]
    [InlineData("""{"must":[{"key":"loc","geo_radius":{"center":{"lat":0,"lon":0},"radius":1}}]}""", "geo filters are not supported yet")]
    [InlineData("""{"must":[{"has_vector":1}]}""", "filter.must[0].has_vector: expected a string")]
    public void Errors_name_the_offending_path(string json, string expected) =>
        Assert.Contains(expected, Error(json), StringComparison.Ordinal);

    [Fact]
    public void Nesting_depth_is_bounded()
    {
        var json = "{}";
        for (var i = 0; i < 70; i++)
            json = $$"""{"must":[{{json}}]}""";
        using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 1000 });
        var e = Assert.Throws<QuiverException>(() => FilterParser.Parse(doc.RootElement));
        Assert.Contains("filter nesting too deep", e.Message, StringComparison.Ordinal);

        var ok = "{}";
        for (var i = 0; i < 60; i++)
            ok = $$"""{"must":[{{ok}}]}""";
        using var doc2 = JsonDocument.Parse(ok, new JsonDocumentOptions { MaxDepth = 1000 });
        Assert.NotNull(FilterParser.Parse(doc2.RootElement));
    }
}
