using System.Globalization;
using System.Text;
using System.Text.Json;
using Quiver.Segment.Errors;
using Quiver.Segment.Filtering;
using Quiver.Segment.PayloadIndex;
using Quiver.Segment.Payloads;
using Quiver.Segment.Tests.Filtering;

namespace Quiver.Segment.Tests.PayloadIndex;

public sealed class PayloadIndexTests
{
    private static readonly string[] Words = ["red", "green", "blue", "quick", "brown", "fox", "lazy", "dog"];
    private static readonly string[] Uuids = [.. Enumerable.Range(0, 8).Select(i => new Guid(i, 0, 0, new byte[8]).ToString())];

    private static List<TestPoint> RandomPoints(int count, int seed)
    {
        var rng = new Random(seed);
        var points = new List<TestPoint>();
        for (var i = 0; i < count; i++)
        {
            var parts = new List<string>();
            string Pick<T>(IReadOnlyList<T> xs, Func<T, string> f) =>
                rng.Next(3) == 0 ? "[" + string.Join(",", Enumerable.Range(0, rng.Next(4)).Select(_ => f(xs[rng.Next(xs.Count)]))) + "]" : f(xs[rng.Next(xs.Count)]);
            if (rng.Next(5) > 0)
                parts.Add("\"kw\":" + Pick(Words, w => $"\"{w}\""));
            if (rng.Next(5) > 0)
                parts.Add("\"n\":" + Pick(Enumerable.Range(-10, 21).ToList(), n => n.ToString(CultureInfo.InvariantCulture)));
            if (rng.Next(5) > 0)
                parts.Add("\"f\":" + Pick(Enumerable.Range(0, 40).ToList(), n => (n / 4.0).ToString(CultureInfo.InvariantCulture)));
            if (rng.Next(5) > 0)
                parts.Add("\"b\":" + (rng.Next(2) == 0 ? "true" : "false"));
            if (rng.Next(5) > 0)
                parts.Add("\"u\":" + Pick(Uuids, u => $"\"{u}\""));
            if (rng.Next(5) > 0)
                parts.Add("\"d\":" + Pick(Enumerable.Range(0, 30).ToList(), day => $"\"2024-03-{day + 1:00}T{rng.Next(24):00}:00:00{(rng.Next(2) == 0 ? "Z" : "+05:00")}\""));
            if (rng.Next(5) > 0)
                parts.Add("\"t\":" + Pick(Enumerable.Range(0, 5).ToList(), _ => "\"" + string.Join(" ", Enumerable.Range(0, 1 + rng.Next(5)).Select(_ => Words[rng.Next(Words.Length)])) + "\""));
            if (rng.Next(10) == 0)
                parts.Add("\"kw\":null".Replace("kw", "other", StringComparison.Ordinal));
            points.Add(new TestPoint((ulong)i, "{" + string.Join(",", parts) + "}"));
        }

        return points;
    }

    private static FieldCondition Field(string json) => (FieldCondition)FilterParser.ParseCondition(JsonDocument.Parse(json).RootElement.Clone());

    public static TheoryData<string, string> Cases => new()
    {
        { "keyword", """{"key":"kw","match":{"value":"red"}}""" },
        { "keyword", """{"key":"kw","match":{"any":["fox","dog","nope"]}}""" },
        { "integer", """{"key":"n","match":{"value":3}}""" },
        { "integer", """{"key":"n","match":{"any":[-1,0,7]}}""" },
        { "integer", """{"key":"n","range":{"gt":-2.5,"lte":4}}""" },
        { "integer", """{"key":"n","range":{"gte":2,"lt":3}}""" },
        { "integer", """{"key":"n","range":{"gt":10}}""" },
        { "float", """{"key":"f","range":{"gt":1.25,"lt":5}}""" },
        { "float", """{"key":"f","range":{"gte":9.5}}""" },
        { "float", """{"key":"f","range":{"lte":0}}""" },
        { "bool", """{"key":"b","match":{"value":true}}""" },
        { "bool", """{"key":"b","match":{"value":false}}""" },
        { "uuid", $$$"""{"key":"u","match":{"value":"{{{Uuids[3]}}}"}}""" },
        { "uuid", $$$"""{"key":"u","match":{"any":["{{{Uuids[1]}}}","{{{Uuids[2]}}}","not-a-uuid"]}}""" },
        { "datetime", """{"key":"d","range":{"gte":"2024-03-05T00:00:00Z","lt":"2024-03-12"}}""" },
        { "datetime", """{"key":"d","range":{"gt":"2024-03-20 10:00"}}""" },
        { "text", """{"key":"t","match":{"text":"quick fox"}}""" },
        { "text", """{"key":"t","match":{"text_any":"lazy red"}}""" },
        { "text", """{"key":"t","match":{"phrase":"brown fox"}}""" },
        { "text", """{"key":"t","match":{"text":"zebra"}}""" },
        { "{\"type\":\"text\",\"tokenizer\":\"prefix\",\"max_token_len\":4}", """{"key":"t","match":{"text":"qui bro"}}""" },
        { "{\"type\":\"text\",\"tokenizer\":\"whitespace\",\"phrase_matching\":true}", """{"key":"t","match":{"phrase":"lazy dog"}}""" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Index_candidates_equal_brute_force(string schema, string condition)
    {
        var points = RandomPoints(400, 42);
        var set = new PayloadIndexSet();
        var fieldSchema = PayloadSchemaParser.Parse(JsonDocument.Parse(schema.StartsWith('{') ? schema : $"\"{schema}\"").RootElement.Clone());
        var c = Field(condition);
        var index = set.Create(c.Key, fieldSchema, points.Select((p, i) => (i, p.Payload)));
        var compiled = new Filter(must: [c]).Compile(set);

        void Check(IEnumerable<int> live)
        {
            var expected = live.Where(i => compiled.Matches(points[i])).Order().ToArray();
            Assert.True(index.TryGetCandidates(c, out var got));
            Assert.Equal(expected, got);
            Assert.True(index.EstimateCardinality(c) >= 0);
        }

        Check(Enumerable.Range(0, points.Count));
        Assert.True(index.PointsCount > 0);

        // Incremental maintenance: remove every third point, re-add a few.
        for (var i = 0; i < points.Count; i += 3)
            set.OnPointRemoved(i, points[i].Payload);
        for (var i = 0; i < points.Count; i += 9)
            set.OnPointAdded(i, points[i].Payload);
        Check(Enumerable.Range(0, points.Count).Where(i => i % 3 != 0 || i % 9 == 0));
    }

    [Fact]
    public void Indexes_refuse_conditions_they_cannot_serve()
    {
        var kw = PayloadFieldIndex.Create(JsonPath.Parse("kw"), PayloadFieldSchema.Of(PayloadSchemaType.Keyword));
        Assert.False(kw.TryGetCandidates(Field("""{"key":"kw","range":{"gt":1}}"""), out _));
        Assert.False(kw.TryGetCandidates(Field("""{"key":"kw","match":{"except":["a"]}}"""), out _));
        Assert.False(kw.TryGetCandidates(Field("""{"key":"other","match":{"value":"a"}}"""), out _));
        Assert.Equal(-1, kw.EstimateCardinality(Field("""{"key":"kw","values_count":{"gt":1}}""")));
        var f = PayloadFieldIndex.Create(JsonPath.Parse("f"), PayloadFieldSchema.Of(PayloadSchemaType.Float));
        Assert.False(f.TryGetCandidates(Field("""{"key":"f","match":{"value":1}}"""), out _));
        Assert.False(kw.SupportsOrdering);
        Assert.Throws<NotSupportedException>(() => kw.Ordered(false, null).ToList());
    }

    [Theory]
    [InlineData("integer", "n", false, null)]
    [InlineData("integer", "n", true, 3.5)]
    [InlineData("float", "f", false, 2.25)]
    [InlineData("float", "f", true, null)]
    public void Ordered_scan_matches_sorting(string type, string key, bool descending, double? startFrom)
    {
        var points = RandomPoints(300, 7);
        var index = PayloadFieldIndex.Create(JsonPath.Parse(key), PayloadSchemaParser.Parse(JsonDocument.Parse($"\"{type}\"").RootElement));
        for (var i = 0; i < points.Count; i++)
            index.Add(i, points[i].Payload);
        var expected = new List<(double, int)>();
        for (var i = 0; i < points.Count; i++)
        {
            var values = new List<JsonElement>();
            JsonPath.Parse(key).Collect(points[i].Payload.Root, values);
            foreach (var v in values.Where(v => v.ValueKind == JsonValueKind.Number).Select(v => v.GetDouble()).Distinct())
            {
                if (startFrom is not { } s || (descending ? v <= s : v >= s))
                    expected.Add((v, i));
            }
        }

        expected = descending ? [.. expected.OrderByDescending(x => x.Item1).ThenByDescending(x => x.Item2)] : [.. expected.Order()];
        Assert.True(index.SupportsOrdering);
        Assert.Equal(expected, index.Ordered(descending, startFrom).ToList());
    }

    [Fact]
    public void Datetime_index_orders_by_instant()
    {
        var index = PayloadFieldIndex.Create(JsonPath.Parse("d"), PayloadFieldSchema.Of(PayloadSchemaType.Datetime));
        index.Add(0, Payload.FromUtf8(Encoding.UTF8.GetBytes("""{"d":"2024-01-01T10:00:00+05:00"}""")));
        index.Add(1, Payload.FromUtf8(Encoding.UTF8.GetBytes("""{"d":"2024-01-01T06:00:00Z"}""")));
        index.Add(2, Payload.FromUtf8(Encoding.UTF8.GetBytes("""{"d":"nope"}""")));
        Assert.Equal([0, 1], index.Ordered(false, null).Select(x => x.Offset));
        Assert.Equal(2, index.PointsCount);
    }

    [Fact]
    public void Planner_picks_the_most_selective_index()
    {
        var points = RandomPoints(400, 3);
        var set = new PayloadIndexSet();
        var all = points.Select((p, i) => (i, p.Payload)).ToList();
        set.Create(JsonPath.Parse("b"), PayloadFieldSchema.Of(PayloadSchemaType.Bool), all);
        set.Create(JsonPath.Parse("n"), PayloadFieldSchema.Of(PayloadSchemaType.Integer), all);
        var filter = TestPoint.ParseFilter("""
            {"must":[{"key":"b","match":{"value":true}},{"key":"n","match":{"any":[4,5]}},{"key":"kw","match":{"except":["zzz"]}}],
             "must_not":[{"key":"f","range":{"gt":5}}]}
            """);
        var plan = set.Plan(filter);
        Assert.False(plan.IsFullScan);
        Assert.Equal("n", plan.IndexedKey!.ToString());
        var viaPlan = plan.Candidates!.Where(i => plan.Filter.Matches(points[i])).ToList();
        var brute = Enumerable.Range(0, points.Count).Where(i => plan.Filter.Matches(points[i])).ToList();
        Assert.Equal(brute, viaPlan);
        Assert.NotEmpty(brute);

        Assert.True(set.Plan(TestPoint.ParseFilter("""{"should":[{"key":"n","match":{"value":4}}]}""")).IsFullScan);
        Assert.True(set.Plan(TestPoint.ParseFilter("""{"must":[{"key":"kw","match":{"value":"red"}}]}""")).IsFullScan);
        Assert.True(set.Drop(JsonPath.Parse("n")));
        Assert.Equal("b", set.Plan(filter).IndexedKey!.ToString());
    }

    [Fact]
    public void Indexed_conditions_intersect_to_exactly_the_matching_points_and_follow_changes()
    {
        // "a" and "c" have dense posting lists (bitsets), "s" sparse ones: every intersection path is taken.
        var points = Enumerable.Range(0, 6000).Select(i => new TestPoint((ulong)i, $$"""{"a":{{i % 4}},"c":{{i * 7 % 3}},"s":{{i % 50}}}""")).ToList();
        var set = new PayloadIndexSet();
        var all = points.Select((p, i) => (i, p.Payload)).ToList();
        foreach (var key in new[] { "a", "c", "s" })
            set.Create(JsonPath.Parse(key), PayloadFieldSchema.Of(PayloadSchemaType.Integer), all);

        int[] Expected(Func<int, bool> match) => [.. Enumerable.Range(0, points.Count).Where(i => points[i].Payload.Root.TryGetProperty("a", out _) && match(i))];
        void AssertPlan(string filter, Func<int, bool> match)
        {
            var plan = set.Plan(TestPoint.ParseFilter(filter));
            Assert.True(plan.CandidatesAreExact);
            Assert.Equal(Expected(match), plan.Candidates!);
        }

        // Concurrent first plans fill the shared caches at the same time.
        Parallel.For(0, 64, new ParallelOptions { MaxDegreeOfParallelism = 8 }, q =>
            AssertPlan($$$"""{"must":[{"key":"a","match":{"value":{{{q % 4}}}}},{"key":"c","match":{"value":{{{q % 3}}}}}]}""", i => i % 4 == q % 4 && i * 7 % 3 == q % 3));
        AssertPlan("""{"must":[{"key":"a","match":{"value":1}},{"key":"s","match":{"value":9}}]}""", i => i % 4 == 1 && i % 50 == 9);
        AssertPlan("""{"must":[{"key":"s","match":{"value":9}},{"key":"s","match":{"value":9}}]}""", i => i % 50 == 9);

        // A point leaving and one changing value: the cached lists and bitsets are dropped with them.
        set.OnPointRemoved(5, points[5].Payload);
        var moved = new TestPoint(9, """{"a":1,"c":2,"s":0}""");
        set.OnPayloadChanged(9, points[9].Payload, moved.Payload);
        AssertPlan("""{"must":[{"key":"a","match":{"value":1}},{"key":"c","match":{"value":2}}]}""",
            i => i != 5 && (i == 9 || (i % 4 == 1 && i * 7 % 3 == 2)));
    }

    [Theory]
    [InlineData("\"keyword\"", """{"data_type":"keyword","points":0}""")]
    [InlineData("""{"type":"integer","lookup":true,"range":false}""", """{"data_type":"integer","params":{"type":"integer","lookup":true,"range":false},"points":0}""")]
    [InlineData("""{"type":"text","tokenizer":"prefix","min_token_len":2,"max_token_len":10,"lowercase":false}""", """{"data_type":"text","params":{"type":"text","tokenizer":"prefix","min_token_len":2,"max_token_len":10,"lowercase":false},"points":0}""")]
    [InlineData("""{"type":"keyword","is_tenant":true,"on_disk":true}""", """{"data_type":"keyword","params":{"type":"keyword","is_tenant":true,"on_disk":true},"points":0}""")]
    [InlineData("\"uuid\"", """{"data_type":"uuid","points":0}""")]
    public void Schema_round_trips_as_index_info(string schema, string info)
    {
        var parsed = PayloadSchemaParser.Parse(JsonDocument.Parse(schema).RootElement);
        var index = PayloadFieldIndex.Create(JsonPath.Parse("x"), parsed);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
            index.WriteInfo(writer);
        Assert.Equal(info, Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    [Fact]
    public void Text_schema_params_are_typed()
    {
        var s = PayloadSchemaParser.Parse(JsonDocument.Parse("""{"type":"text","tokenizer":"whitespace","lowercase":false,"phrase_matching":true}""").RootElement);
        Assert.Equal(TokenizerKind.Whitespace, s.Text!.Tokenizer);
        Assert.False(s.Text.Lowercase);
        Assert.True(s.Text.PhraseMatching);
        Assert.Equal(TokenizerKind.Word, PayloadFieldSchema.Of(PayloadSchemaType.Text).Text!.Tokenizer);
    }

    [Theory]
    [InlineData("\"strings\"", "field_schema: expected one of")]
    [InlineData("\"geo\"", "geo indexes are not supported yet")]
    [InlineData("""{"type":"keyword","lookup":true}""", "field_schema: unknown field `lookup`")]
    [InlineData("""{"type":"text","tokenizer":"chars"}""", "field_schema.tokenizer: expected one of")]
    [InlineData("""{"type":"text","min_token_len":"2"}""", "field_schema.min_token_len: expected a non-negative integer")]
    [InlineData("""{"tokenizer":"word"}""", "field_schema: missing field `type`")]
    [InlineData("5", "field_schema: expected an object")]
    public void Schema_errors_name_the_field(string schema, string expected)
    {
        var e = Assert.Throws<QuiverException>(() => PayloadSchemaParser.Parse(JsonDocument.Parse(schema).RootElement));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }
}
