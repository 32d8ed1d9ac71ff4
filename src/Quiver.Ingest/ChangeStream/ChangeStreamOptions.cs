using System.Globalization;
using Quiver.Ingest.Connectors;
using Quiver.Ingest.Internal;
using Quiver.Segment.Errors;

namespace Quiver.Ingest.ChangeStream;

/// <summary>Where the change stream publishes every applied operation: a NATS subject prefix or a Kafka topic.</summary>
public sealed record ChangeStreamOptions
{
    public required ConnectorKind Kind { get; init; }

    public string NatsUrl { get; init; } = "nats://127.0.0.1:4222";

    /// <summary>Messages go to <c>{prefix}.{collection}</c>.</summary>
    public string SubjectPrefix { get; init; } = "quiver.changes";

    public string KafkaBootstrapServers { get; init; } = string.Empty;

    public string KafkaTopic { get; init; } = "quiver.changes";

    /// <summary>Most log records read and published per shard in one round.</summary>
    public int MaxBatch { get; init; } = 1000;

    private static readonly string[] KnownKeys = ["kind", "max_batch", "nats:url", "nats:subject_prefix", "kafka:bootstrap_servers", "kafka:topic"];

    /// <summary>Reads the <c>change_stream</c> section (flattened keys); null when it is absent or its kind is empty.</summary>
    public static ChangeStreamOptions? Parse(IReadOnlyDictionary<string, string?> values)
    {
        var settings = new FlatSettings(values, KnownKeys, Bad);
        settings.CheckKeys();
        string? Get(string key) => settings.Get(key);
        if (Get("kind") is not { } kind)
            return null;
        var d = new ChangeStreamOptions { Kind = ConnectorKind.Nats };
        var maxBatch = d.MaxBatch;
        if (Get("max_batch") is { } text && (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out maxBatch) || maxBatch is < 1 or > 100_000))
            throw Bad($"`max_batch` = '{text}': expected an integer from 1 to 100000");
        var options = kind.ToLowerInvariant() switch
        {
            "nats" => d with { NatsUrl = Get("nats:url") ?? d.NatsUrl, SubjectPrefix = Get("nats:subject_prefix") ?? d.SubjectPrefix },
            "kafka" => d with
            {
                Kind = ConnectorKind.Kafka,
                KafkaBootstrapServers = Get("kafka:bootstrap_servers") ?? throw Bad("`kafka.bootstrap_servers` is required"),
                KafkaTopic = Get("kafka:topic") ?? d.KafkaTopic,
            },
            _ => throw Bad($"kind '{kind}': expected nats or kafka"),
        };
        if (options.SubjectPrefix.Any(c => c is '*' or '>' or ' ') || options.SubjectPrefix.StartsWith('.') || options.SubjectPrefix.EndsWith('.'))
            throw Bad($"`nats.subject_prefix` '{options.SubjectPrefix}' is not a subject prefix");
        return options with { MaxBatch = maxBatch };
    }

    private static QuiverException Bad(string message) => QuiverException.BadInput($"change_stream: {message}");
}
