using System.Globalization;
using System.Text.Json;
using Quiver.Ingest.Internal;
using Quiver.Segment.Errors;

namespace Quiver.Ingest.Connectors;

/// <summary>Where a connector reads its events from.</summary>
public enum ConnectorKind
{
    Nats,
    Kafka,
}

/// <summary>Where an event's point id comes from when the event itself has none.</summary>
public enum IdSource
{
    /// <summary>The event's <c>id</c> field.</summary>
    Event,

    /// <summary>The Kafka message key, or the last token of the NATS subject, when the event has no <c>id</c>.</summary>
    Key,
}

/// <summary>A NATS JetStream source: a durable pull consumer on one subject of a stream.</summary>
public sealed record NatsSourceOptions
{
    public string Url { get; init; } = "nats://127.0.0.1:4222";

    public string Stream { get; init; } = string.Empty;

    public string Subject { get; init; } = string.Empty;

    /// <summary>The durable consumer's name; defaults to <c>quiver-{connector}</c>.</summary>
    public string? Durable { get; init; }

    /// <summary>Where poison events go; defaults to <c>quiver.dead-letter.{connector}</c>.</summary>
    public string? DeadLetterSubject { get; init; }

    /// <summary>How long NATS waits for an ack before redelivering; must exceed a batch's write time.</summary>
    public int AckWaitSec { get; init; } = 60;
}

/// <summary>A Kafka source: one topic read in a consumer group.</summary>
public sealed record KafkaSourceOptions
{
    public string BootstrapServers { get; init; } = string.Empty;

    public string Topic { get; init; } = string.Empty;

    /// <summary>The consumer group; defaults to <c>quiver-{connector}</c>. Servers sharing it share the partitions.</summary>
    public string? GroupId { get; init; }

    /// <summary>Where poison events go; defaults to <c>{topic}.dead-letter</c>.</summary>
    public string? DeadLetterTopic { get; init; }

    /// <summary>Where a group without committed offsets starts: <c>earliest</c> or <c>latest</c>.</summary>
    public string AutoOffsetReset { get; init; } = "earliest";
}

/// <summary>
/// One source connector: which stream feeds which collection, and how. Read from <c>connectors</c> in
/// config.yaml or from a <c>PUT /quiver/connectors/{name}</c> body; both use the same keys.
/// </summary>
public sealed record ConnectorDefinition
{
    public required string Name { get; init; }

    public required ConnectorKind Kind { get; init; }

    public required string Collection { get; init; }

    public IdSource IdFrom { get; init; } = IdSource.Event;

    /// <summary>Most events written to the collection in one log batch.</summary>
    public int MaxBatch { get; init; } = 500;

    /// <summary>After waking on a first event, how long to wait for more before writing.</summary>
    public int LingerMs { get; init; } = 5;

    /// <summary>Attempts for a write that may succeed later (the collection missing, the engine unavailable).</summary>
    public int RetryMaxAttempts { get; init; } = 6;

    public int RetryInitialBackoffMs { get; init; } = 100;

    public int RetryMaxBackoffMs { get; init; } = 5_000;

    /// <summary>Pause while a shard has more logged-but-unapplied operations than this.</summary>
    public int MaxApplyBacklog { get; init; } = 20_000;

    /// <summary>Pause while the optimizers have more points than this still to index.</summary>
    public long MaxUnindexedPoints { get; init; } = 5_000_000;

    public NatsSourceOptions? Nats { get; init; }

    public KafkaSourceOptions? Kafka { get; init; }

    /// <summary>Whether the connector was defined in config.yaml (read-only over REST) or created over REST.</summary>
    public bool FromConfig { get; init; }

    public string DurableName => Nats?.Durable ?? $"quiver-{Name}";

    public string DeadLetterSubject => Nats?.DeadLetterSubject ?? $"quiver.dead-letter.{Name}";

    public string GroupId => Kafka?.GroupId ?? $"quiver-{Name}";

    public string DeadLetterTopic => Kafka?.DeadLetterTopic ?? $"{Kafka?.Topic}.dead-letter";

    private static readonly string[] KnownKeys =
    [
        "name", "kind", "collection", "id_from", "batch:max_events", "batch:linger_ms", "retry:max_attempts",
        "retry:initial_backoff_ms", "retry:max_backoff_ms", "backpressure:max_apply_backlog", "backpressure:max_unindexed_points",
        "nats:url", "nats:stream", "nats:subject", "nats:durable", "nats:dead_letter_subject", "nats:ack_wait_sec",
        "kafka:bootstrap_servers", "kafka:topic", "kafka:group_id", "kafka:dead_letter_topic", "kafka:auto_offset_reset",
    ];

    /// <summary>
    /// Reads a definition from flattened keys (<c>nats:url</c>), naming the key in every error (BadInput).
    /// Unknown keys are refused, so a misspelt setting is never silently ignored.
    /// </summary>
    public static ConnectorDefinition Parse(IReadOnlyDictionary<string, string?> values, bool fromConfig)
    {
        var settings = new FlatSettings(values, KnownKeys, Bad);
        settings.CheckKeys();
        string? Get(string key) => settings.Get(key);
        string Required(string key) => Get(key) ?? throw Bad($"`{FlatSettings.Dotted(key)}` is required");
        long Number(string key, long fallback, long min, long max)
        {
            if (Get(key) is not { } text)
                return fallback;
            if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) || n < min || n > max)
                throw Bad($"`{FlatSettings.Dotted(key)}` = '{text}': expected an integer from {min} to {max}");
            return n;
        }

        var name = Required("name");
        if (name.Length > 64 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            throw Bad($"name '{name}': use 1 to 64 letters, digits, '-' or '_'");
        var kind = Required("kind").ToLowerInvariant() switch
        {
            "nats" => ConnectorKind.Nats,
            "kafka" => ConnectorKind.Kafka,
            var other => throw Bad($"kind '{other}': expected nats or kafka"),
        };
        var idFrom = (Get("id_from") ?? "event").ToLowerInvariant() switch
        {
            "event" => IdSource.Event,
            "key" => IdSource.Key,
            var other => throw Bad($"id_from '{other}': expected event or key"),
        };
        var d = new ConnectorDefinition { Name = name, Kind = kind, Collection = string.Empty };
        var definition = d with
        {
            Collection = Required("collection"),
            IdFrom = idFrom,
            MaxBatch = (int)Number("batch:max_events", d.MaxBatch, 1, 100_000),
            LingerMs = (int)Number("batch:linger_ms", d.LingerMs, 0, 60_000),
            RetryMaxAttempts = (int)Number("retry:max_attempts", d.RetryMaxAttempts, 1, 100),
            RetryInitialBackoffMs = (int)Number("retry:initial_backoff_ms", d.RetryInitialBackoffMs, 1, 600_000),
            RetryMaxBackoffMs = (int)Number("retry:max_backoff_ms", d.RetryMaxBackoffMs, 1, 3_600_000),
            MaxApplyBacklog = (int)Number("backpressure:max_apply_backlog", d.MaxApplyBacklog, 1, 100_000_000),
            MaxUnindexedPoints = Number("backpressure:max_unindexed_points", d.MaxUnindexedPoints, 1, long.MaxValue),
            FromConfig = fromConfig,
        };
        if (definition.RetryMaxBackoffMs < definition.RetryInitialBackoffMs)
            throw Bad("`retry.max_backoff_ms` must be at least `retry.initial_backoff_ms`");
        if (kind == ConnectorKind.Nats)
        {
            if (values.Keys.Any(k => k.StartsWith("kafka", StringComparison.OrdinalIgnoreCase)))
                throw Bad("a nats connector takes `nats.*` settings, not `kafka.*`");
            var n = new NatsSourceOptions();
            return definition with
            {
                Nats = n with
                {
                    Url = Get("nats:url") ?? n.Url,
                    Stream = Required("nats:stream"),
                    Subject = Required("nats:subject"),
                    Durable = Get("nats:durable"),
                    DeadLetterSubject = Get("nats:dead_letter_subject"),
                    AckWaitSec = (int)Number("nats:ack_wait_sec", n.AckWaitSec, 1, 86_400),
                },
            };
        }

        if (values.Keys.Any(k => k.StartsWith("nats", StringComparison.OrdinalIgnoreCase)))
            throw Bad("a kafka connector takes `kafka.*` settings, not `nats.*`");
        var reset = (Get("kafka:auto_offset_reset") ?? "earliest").ToLowerInvariant();
        if (reset is not ("earliest" or "latest"))
            throw Bad($"kafka.auto_offset_reset '{reset}': expected earliest or latest");
        return definition with
        {
            Kafka = new KafkaSourceOptions
            {
                BootstrapServers = Required("kafka:bootstrap_servers"),
                Topic = Required("kafka:topic"),
                GroupId = Get("kafka:group_id"),
                DeadLetterTopic = Get("kafka:dead_letter_topic"),
                AutoOffsetReset = reset,
            },
        };
    }

    /// <summary>Reads a definition from a JSON object of the same keys, nested (<c>{"nats": {"url": ...}}</c>).</summary>
    public static ConnectorDefinition FromJson(JsonElement body, string? name)
    {
        if (body.ValueKind != JsonValueKind.Object)
            throw Bad("the body must be a JSON object");
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        Flatten(body, string.Empty, values);
        if (name is not null)
        {
            if (values.TryGetValue("name", out var inBody) && inBody != name)
                throw Bad($"name '{inBody}' in the body differs from '{name}' in the path");
            values["name"] = name;
        }

        return Parse(values, fromConfig: false);
    }

    private static void Flatten(JsonElement element, string prefix, Dictionary<string, string?> values)
    {
        foreach (var property in element.EnumerateObject())
        {
            var key = prefix.Length == 0 ? property.Name : $"{prefix}:{property.Name}";
            switch (property.Value.ValueKind)
            {
                case JsonValueKind.Object:
                    Flatten(property.Value, key, values);
                    break;
                case JsonValueKind.String:
                    values[key] = property.Value.GetString();
                    break;
                case JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False:
                    values[key] = property.Value.GetRawText();
                    break;
                case JsonValueKind.Null:
                    break;
                default:
                    throw Bad($"`{key.Replace(':', '.')}`: expected a string, a number, a boolean or an object");
            }
        }
    }

    /// <summary>
    /// Writes the definition in the shape <see cref="FromJson"/> reads. With <paramref name="redact"/> (the API's
    /// answers), credentials in the NATS URL are hidden.
    /// </summary>
    public void WriteJson(Utf8JsonWriter w, bool redact = false)
    {
        w.WriteStartObject();
        w.WriteString("name", Name);
        w.WriteString("kind", Kind == ConnectorKind.Nats ? "nats" : "kafka");
        w.WriteString("collection", Collection);
        w.WriteString("id_from", IdFrom == IdSource.Key ? "key" : "event");
        w.WriteStartObject("batch");
        w.WriteNumber("max_events", MaxBatch);
        w.WriteNumber("linger_ms", LingerMs);
        w.WriteEndObject();
        w.WriteStartObject("retry");
        w.WriteNumber("max_attempts", RetryMaxAttempts);
        w.WriteNumber("initial_backoff_ms", RetryInitialBackoffMs);
        w.WriteNumber("max_backoff_ms", RetryMaxBackoffMs);
        w.WriteEndObject();
        w.WriteStartObject("backpressure");
        w.WriteNumber("max_apply_backlog", MaxApplyBacklog);
        w.WriteNumber("max_unindexed_points", MaxUnindexedPoints);
        w.WriteEndObject();
        if (Nats is { } n)
        {
            w.WriteStartObject("nats");
            w.WriteString("url", redact ? RedactUrl(n.Url) : n.Url);
            w.WriteString("stream", n.Stream);
            w.WriteString("subject", n.Subject);
            w.WriteString("durable", DurableName);
            w.WriteString("dead_letter_subject", DeadLetterSubject);
            w.WriteNumber("ack_wait_sec", n.AckWaitSec);
            w.WriteEndObject();
        }

        if (Kafka is { } k)
        {
            w.WriteStartObject("kafka");
            w.WriteString("bootstrap_servers", k.BootstrapServers);
            w.WriteString("topic", k.Topic);
            w.WriteString("group_id", GroupId);
            w.WriteString("dead_letter_topic", DeadLetterTopic);
            w.WriteString("auto_offset_reset", k.AutoOffsetReset);
            w.WriteEndObject();
        }

        w.WriteEndObject();
    }

    /// <summary>Hides <c>user:password@</c> in each of a comma-separated list of server URLs.</summary>
    private static string RedactUrl(string urls) => string.Join(',', urls.Split(',').Select(url =>
    {
        var scheme = url.IndexOf("://", StringComparison.Ordinal);
        var at = url.LastIndexOf('@');
        return scheme >= 0 && at > scheme ? string.Concat(url.AsSpan(0, scheme + 3), "***", url.AsSpan(at)) : url;
    }));

    private static QuiverException Bad(string message) => QuiverException.BadInput($"connector: {message}");
}
