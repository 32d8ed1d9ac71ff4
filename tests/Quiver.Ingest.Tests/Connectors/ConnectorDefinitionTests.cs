using System.Text;
using System.Text.Json;
using Quiver.Ingest.Connectors;
using Quiver.Segment.Errors;

namespace Quiver.Ingest.Tests.Connectors;

public sealed class ConnectorDefinitionTests
{
    private static ConnectorDefinition FromJson(string json, string? name = "c1")
    {
        using var doc = JsonDocument.Parse(json);
        return ConnectorDefinition.FromJson(doc.RootElement, name);
    }

    private static string Refusal(string json, string? name = "c1") =>
        Assert.Throws<QuiverException>(() => FromJson(json, name)).Message;

    [Fact]
    public void A_nats_definition_takes_defaults_for_what_it_leaves_out()
    {
        var d = FromJson("""{"kind":"nats","collection":"docs","nats":{"stream":"S","subject":"docs.events"}}""");
        Assert.Equal(ConnectorKind.Nats, d.Kind);
        Assert.Equal("nats://127.0.0.1:4222", d.Nats!.Url);
        Assert.Equal("quiver-c1", d.DurableName);
        Assert.Equal("quiver.dead-letter.c1", d.DeadLetterSubject);
        Assert.Equal(500, d.MaxBatch);
        Assert.Equal(IdSource.Event, d.IdFrom);
        Assert.False(d.FromConfig);
    }

    [Fact]
    public void A_kafka_definition_round_trips_through_its_json()
    {
        var d = FromJson("""{"kind":"kafka","collection":"docs","id_from":"key","batch":{"max_events":50,"linger_ms":0},"kafka":{"bootstrap_servers":"127.0.0.1:9092","topic":"t"}}""");
        Assert.Equal("quiver-c1", d.GroupId);
        Assert.Equal("t.dead-letter", d.DeadLetterTopic);
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
            d.WriteJson(w);
        var again = FromJson(Encoding.UTF8.GetString(stream.ToArray()), null);
        Assert.Equal(d with { Kafka = d.Kafka! with { GroupId = "quiver-c1", DeadLetterTopic = "t.dead-letter" } }, again);
    }

    [Theory]
    [InlineData("""{"kind":"nats","collection":"d","nats":{"stream":"S","subject":"x"},"batch":{"max_event":5}}""", "unknown setting `batch.max_event`")]
    [InlineData("""{"kind":"redis","collection":"d"}""", "kind 'redis': expected nats or kafka")]
    [InlineData("""{"kind":"nats","nats":{"stream":"S","subject":"x"}}""", "`collection` is required")]
    [InlineData("""{"kind":"nats","collection":"d","nats":{"subject":"x"}}""", "`nats.stream` is required")]
    [InlineData("""{"kind":"nats","collection":"d","nats":{"stream":"S","subject":"x"},"batch":{"max_events":0}}""", "`batch.max_events` = '0': expected an integer from 1 to 100000")]
    [InlineData("""{"kind":"nats","collection":"d","nats":{"stream":"S","subject":"x"},"kafka":{"topic":"t"}}""", "not `kafka.*`")]
    [InlineData("""{"kind":"kafka","collection":"d","kafka":{"topic":"t"}}""", "`kafka.bootstrap_servers` is required")]
    [InlineData("""{"kind":"kafka","collection":"d","kafka":{"topic":"t","bootstrap_servers":"b","auto_offset_reset":"middle"}}""", "expected earliest or latest")]
    [InlineData("""{"kind":"nats","collection":"d","nats":{"stream":"S","subject":"x"},"retry":{"initial_backoff_ms":500,"max_backoff_ms":100}}""", "`retry.max_backoff_ms` must be at least")]
    [InlineData("""{"kind":"nats","collection":"d","nats":["x"]}""", "`nats`: expected a string, a number, a boolean or an object")]
    [InlineData("""{"kind":"nats","collection":"d","nats":{"stream":"S","subject":"x"},"batch":5}""", "`batch` is a section: expected an object of settings, got '5'")]
    [InlineData("""{"name":"other","kind":"nats","collection":"d","nats":{"stream":"S","subject":"x"}}""", "name 'other' in the body differs from 'c1'")]
    public void Bad_definitions_are_refused_naming_the_setting(string json, string reason)
    {
        Assert.Contains(reason, Refusal(json), StringComparison.Ordinal);
    }

    [Fact]
    public void Credentials_in_the_nats_url_are_hidden_in_answers_but_kept()
    {
        var d = FromJson("""{"kind":"nats","collection":"d","nats":{"url":"nats://user:secret@host:4222","stream":"S","subject":"x"}}""");
        string Json(bool redact)
        {
            using var stream = new MemoryStream();
            using (var w = new Utf8JsonWriter(stream))
                d.WriteJson(w, redact);
            return Encoding.UTF8.GetString(stream.ToArray());
        }

        Assert.Contains("nats://***@host:4222", Json(true), StringComparison.Ordinal);
        Assert.DoesNotContain("secret", Json(true), StringComparison.Ordinal);
        Assert.Contains("nats://user:secret@host:4222", Json(false), StringComparison.Ordinal);
        d = d with { Nats = d.Nats! with { Url = "nats://u:p1@a:4222,nats://u:p2@b:4222" } };
        Assert.Contains("nats://***@a:4222,nats://***@b:4222", Json(true), StringComparison.Ordinal);
    }

    [Fact]
    public void Names_are_checked()
    {
        Assert.Contains("name 'a b'", Refusal("""{"kind":"nats","collection":"d","nats":{"stream":"S","subject":"x"}}""", "a b"), StringComparison.Ordinal);
    }
}
