using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Quiver.Server.Hosting;

/// <summary>The <c>service</c> section: how the server listens.</summary>
public sealed record ServiceOptions
{
    public string Host { get; init; } = "0.0.0.0";

    public int HttpPort { get; init; } = 6333;

    /// <summary>gRPC port (Qdrant's gRPC API, HTTP/2); 0 turns gRPC off.</summary>
    public int GrpcPort { get; init; } = 6334;

    /// <summary>Largest accepted request body, in megabytes (Qdrant's default is 32).</summary>
    public int MaxRequestSizeMb { get; init; } = 32;

    /// <summary>How long a graceful shutdown waits for in-flight requests.</summary>
    public int ShutdownTimeoutSec { get; init; } = 30;

    /// <summary>When set, every request but the health checks must carry this key (or the read-only one).</summary>
    public string? ApiKey { get; init; }

    /// <summary>When set, a key that can call the read endpoints only.</summary>
    public string? ReadOnlyApiKey { get; init; }

    /// <summary>Also accept JWTs signed (HS256) with <see cref="ApiKey"/>, whose claims grant access (Qdrant's RBAC).</summary>
    public bool JwtRbac { get; init; }

    /// <summary>Serve REST over TLS with the certificate in the <c>tls</c> section.</summary>
    public bool EnableTls { get; init; }

    /// <summary>With TLS, require every client to present a certificate issued by <c>tls.ca_cert</c>.</summary>
    public bool VerifyHttpsClientCertificate { get; init; }

    /// <summary>Answer browsers' cross-origin requests (any origin, as Qdrant does by default).</summary>
    public bool EnableCors { get; init; } = true;

    /// <summary>Requests per second accepted from one client address (a token bucket of one second's worth); 0 = unlimited.</summary>
    public int RateLimitRps { get; init; }

    /// <summary>Most points one write request (upsert, vector update, or a whole batch) may carry.</summary>
    public int MaxBatchPoints { get; init; } = 100_000;
}

/// <summary>The <c>tls</c> section: PEM files, re-read when they change (certificates can be rotated live).</summary>
public sealed record TlsOptions
{
    public string? Cert { get; init; }

    public string? Key { get; init; }

    /// <summary>PEM file of the CA certificates client certificates must chain to (with client verification).</summary>
    public string? CaCert { get; init; }

    /// <summary>Seconds between checks of the files for a new certificate.</summary>
    public int CertTtl { get; init; } = 60;
}

/// <summary>The <c>storage</c> section: where and how data is kept.</summary>
public sealed record StorageOptions
{
    public string StoragePath { get; init; } = "./storage";

    /// <summary>fsync acknowledged writes. Only turn off for throwaway data.</summary>
    public bool Fsync { get; init; } = true;

    /// <summary>How often shards write their state so the log to replay stays short.</summary>
    public int FlushIntervalSec { get; init; } = 5;

    public int WalSegmentMb { get; init; } = 32;

    /// <summary>Folder of snapshot files; unset: <c>{storage_path}/snapshots</c>.</summary>
    public string? SnapshotsPath { get; init; }

    /// <summary>A full-storage snapshot to restore at start-up, before serving (its collections replace same-named ones).</summary>
    public string? StorageSnapshot { get; init; }
}

/// <summary>The <c>tracing</c> section: OpenTelemetry spans per request, search and optimizer run.</summary>
public sealed record TracingOptions
{
    /// <summary>Record spans (and answer each request with a <c>traceresponse</c> header naming its span).</summary>
    public bool Enabled { get; init; }

    /// <summary>Where spans are exported with OTLP (e.g. <c>http://collector:4317</c>); unset keeps them in-process.</summary>
    public string? OtlpEndpoint { get; init; }

    /// <summary>Share of new traces recorded (a caller's sampled flag is always followed).</summary>
    public double SampleRatio { get; init; } = 1.0;
}

/// <summary>The <c>logging</c> section.</summary>
public sealed record LoggingOptions
{
    /// <summary><c>text</c> (one line per entry) or <c>json</c> (one JSON object per line, for log shippers).</summary>
    public string Format { get; init; } = "text";
}

/// <summary>Server-side inference (documents given in place of vectors).</summary>
public sealed record InferenceOptions
{
    /// <summary>Threads one model call uses (ONNX intra-op threads); 0 means one per core.</summary>
    public int Threads { get; init; }

    /// <summary>Texts the dense model embeds per call.</summary>
    public int MaxBatchSize { get; init; } = 32;

    /// <summary>Model calls that may run at once; more requests wait their turn.</summary>
    public int MaxConcurrency { get; init; } = 1;

    /// <summary>Load the dense model at start-up rather than on first use (about 2 s and 90 MB).</summary>
    public bool Preload { get; init; }
}

/// <summary>All server settings, bound from config file, then QUIVER__ environment variables, then flags.</summary>
/// <summary>Cluster mode (<c>cluster:</c>; DESIGN.md "Cluster mode"). Off: one node with local storage.</summary>
public sealed record ClusterSettings
{
    public bool Enabled { get; init; }

    /// <summary>NATS server URLs, comma-separated; JetStream must be on.</summary>
    public string? NatsUrl { get; init; }

    /// <summary>This node's stable id (placement hashes it); default: the host name.</summary>
    public string? NodeId { get; init; }

    /// <summary>The URL other nodes reach this node's REST API at; default: http(s)://{host}:{http_port}.</summary>
    public string? AdvertiseUrl { get; init; }

    /// <summary>Replicas of each shard log and metadata bucket in JetStream (3 on a three-server NATS cluster).</summary>
    public int LogReplicas { get; init; } = 1;

    /// <summary>Membership heartbeat; a node is taken for dead after three missed beats.</summary>
    public int HeartbeatMs { get; init; } = 1000;

    /// <summary>How long one node's part of a read (or a replica's wait for a write) may take before another replica is tried.</summary>
    public int PeerTimeoutMs { get; init; } = 5000;

    /// <summary>Prefix of the JetStream streams and buckets (several clusters can share one NATS).</summary>
    public string Prefix { get; init; } = "QUIVER";

    /// <summary>Seconds between shard snapshots in the JetStream Object Store (each followed by log compaction); 0: never.</summary>
    public int SnapshotIntervalSec { get; init; } = 300;
}

public sealed record QuiverOptions
{
    public ClusterSettings Cluster { get; init; } = new();

    public ServiceOptions Service { get; init; } = new();

    public StorageOptions Storage { get; init; } = new();

    public TracingOptions Tracing { get; init; } = new();

    public LoggingOptions Logging { get; init; } = new();

    public TlsOptions Tls { get; init; } = new();

    public InferenceOptions Inference { get; init; } = new();

    /// <summary>Where every applied operation is published (<c>change_stream:</c>); null when off.</summary>
    public Quiver.Ingest.ChangeStream.ChangeStreamOptions? ChangeStream { get; init; }

    /// <summary>Source connectors defined in the configuration (<c>connectors:</c>, a list).</summary>
    public IReadOnlyList<Quiver.Ingest.Connectors.ConnectorDefinition> Connectors { get; init; } = [];

    public static QuiverOptions Bind(IConfiguration configuration)
    {
        var service = configuration.GetSection("service");
        var storage = configuration.GetSection("storage");
        var tracing = configuration.GetSection("tracing");
        var logging = configuration.GetSection("logging");
        var tls = configuration.GetSection("tls");
        var inference = configuration.GetSection("inference");
        var cluster = configuration.GetSection("cluster");
        var d = new QuiverOptions();
        var options = new QuiverOptions
        {
            Service = new ServiceOptions
            {
                Host = service["host"] ?? d.Service.Host,
                HttpPort = Int(service, "http_port", d.Service.HttpPort),
                GrpcPort = Int(service, "grpc_port", d.Service.GrpcPort),
                MaxRequestSizeMb = Int(service, "max_request_size_mb", d.Service.MaxRequestSizeMb),
                ShutdownTimeoutSec = Int(service, "shutdown_timeout_sec", d.Service.ShutdownTimeoutSec),
                ApiKey = service["api_key"],
                ReadOnlyApiKey = service["read_only_api_key"],
                JwtRbac = Bool(service, "jwt_rbac", d.Service.JwtRbac),
                EnableTls = Bool(service, "enable_tls", d.Service.EnableTls),
                VerifyHttpsClientCertificate = Bool(service, "verify_https_client_certificate", d.Service.VerifyHttpsClientCertificate),
                EnableCors = Bool(service, "enable_cors", d.Service.EnableCors),
                RateLimitRps = Int(service, "rate_limit_rps", d.Service.RateLimitRps),
                MaxBatchPoints = Int(service, "max_batch_points", d.Service.MaxBatchPoints),
            },
            Storage = new StorageOptions
            {
                StoragePath = storage["storage_path"] ?? d.Storage.StoragePath,
                Fsync = Bool(storage, "fsync", d.Storage.Fsync),
                FlushIntervalSec = Int(storage, "flush_interval_sec", d.Storage.FlushIntervalSec),
                WalSegmentMb = Int(storage, "wal_segment_mb", d.Storage.WalSegmentMb),
                SnapshotsPath = storage["snapshots_path"] is { Length: > 0 } snapshots ? snapshots : null,
                StorageSnapshot = storage["storage_snapshot"] is { Length: > 0 } restore ? restore : null,
            },
            Tracing = new TracingOptions
            {
                Enabled = Bool(tracing, "enabled", d.Tracing.Enabled),
                OtlpEndpoint = tracing["otlp_endpoint"] is { Length: > 0 } endpoint ? endpoint : null,
                SampleRatio = Double(tracing, "sample_ratio", d.Tracing.SampleRatio),
            },
            Logging = new LoggingOptions { Format = logging["format"] ?? d.Logging.Format },
            Tls = new TlsOptions { Cert = tls["cert"], Key = tls["key"], CaCert = tls["ca_cert"], CertTtl = Int(tls, "cert_ttl", d.Tls.CertTtl) },
            Inference = new InferenceOptions
            {
                Threads = Int(inference, "threads", d.Inference.Threads),
                MaxBatchSize = Int(inference, "max_batch_size", d.Inference.MaxBatchSize),
                MaxConcurrency = Int(inference, "max_concurrency", d.Inference.MaxConcurrency),
                Preload = Bool(inference, "preload", d.Inference.Preload),
            },
            Cluster = new ClusterSettings
            {
                Enabled = Bool(cluster, "enabled", d.Cluster.Enabled),
                NatsUrl = cluster["nats_url"] is { Length: > 0 } nats ? nats : null,
                NodeId = cluster["node_id"] is { Length: > 0 } node ? node : null,
                AdvertiseUrl = cluster["advertise_url"] is { Length: > 0 } advertise ? advertise : null,
                LogReplicas = Int(cluster, "log_replicas", d.Cluster.LogReplicas),
                HeartbeatMs = Int(cluster, "heartbeat_ms", d.Cluster.HeartbeatMs),
                PeerTimeoutMs = Int(cluster, "peer_timeout_ms", d.Cluster.PeerTimeoutMs),
                Prefix = cluster["prefix"] ?? d.Cluster.Prefix,
                SnapshotIntervalSec = Int(cluster, "snapshot_interval_sec", d.Cluster.SnapshotIntervalSec),
            },
            Connectors = BindConnectors(configuration.GetSection("connectors")),
            ChangeStream = BindChangeStream(configuration.GetSection("change_stream")),
        };
        options.Validate();
        return options;
    }

    /// <summary>Rejects settings the server cannot run with, naming the key.</summary>
    public void Validate()
    {
        Require(Service.HttpPort is >= 0 and <= 65535, "service.http_port must be 0..65535");
        Require(Service.GrpcPort is >= 0 and <= 65535, "service.grpc_port must be 0 (off) or a port up to 65535");
        Require(Service.GrpcPort == 0 || Service.GrpcPort != Service.HttpPort, "service.grpc_port must differ from service.http_port");
        Require(!string.IsNullOrWhiteSpace(Service.Host), "service.host must not be empty");
        Require(Service.MaxRequestSizeMb is >= 1 and <= 4096, "service.max_request_size_mb must be 1..4096");
        Require(Service.ShutdownTimeoutSec is >= 1 and <= 3600, "service.shutdown_timeout_sec must be 1..3600");
        // An empty key would look like protection and be none: refuse it rather than guess.
        Require(Service.ApiKey is null || !string.IsNullOrWhiteSpace(Service.ApiKey), "service.api_key must not be empty (leave it unset to turn keys off)");
        Require(Service.ReadOnlyApiKey is null || !string.IsNullOrWhiteSpace(Service.ReadOnlyApiKey), "service.read_only_api_key must not be empty (leave it unset to turn it off)");
        Require(Service.ApiKey is null || Service.ApiKey != Service.ReadOnlyApiKey, "service.read_only_api_key must differ from service.api_key");
        Require(!Service.JwtRbac || Service.ApiKey is not null, "service.jwt_rbac needs service.api_key (tokens are signed with it)");
        Require(!string.IsNullOrWhiteSpace(Storage.StoragePath), "storage.storage_path must not be empty");
        Require(Storage.FlushIntervalSec is >= 1 and <= 3600, "storage.flush_interval_sec must be 1..3600");
        Require(Storage.WalSegmentMb is >= 1 and <= 1024, "storage.wal_segment_mb must be 1..1024");
        Require(Storage.StorageSnapshot is null || File.Exists(Storage.StorageSnapshot), $"storage.storage_snapshot: file {Storage.StorageSnapshot} does not exist");
        Require(Tracing.SampleRatio is >= 0 and <= 1, "tracing.sample_ratio must be 0..1");
        Require(Inference.Threads is >= 0 and <= 1024, "inference.threads must be 0 (one per core) to 1024");
        Require(Inference.MaxBatchSize is >= 1 and <= 1024, "inference.max_batch_size must be 1..1024");
        Require(Inference.MaxConcurrency is >= 1 and <= 64, "inference.max_concurrency must be 1..64");
        Require(Logging.Format is "text" or "json", "logging.format must be text or json");
        Require(!Service.EnableTls || (!string.IsNullOrWhiteSpace(Tls.Cert) && !string.IsNullOrWhiteSpace(Tls.Key)), "service.enable_tls needs tls.cert and tls.key (PEM files)");
        Require(Tls.CertTtl is >= 1 and <= 86400, "tls.cert_ttl must be 1..86400 seconds");
        Require(!Service.VerifyHttpsClientCertificate || (Service.EnableTls && !string.IsNullOrWhiteSpace(Tls.CaCert)),
            "service.verify_https_client_certificate needs service.enable_tls and tls.ca_cert");
        Require(Service.RateLimitRps is >= 0 and <= 10_000_000, "service.rate_limit_rps must be 0 (unlimited) or up to 10000000");
        Require(Service.MaxBatchPoints is >= 1 and <= 10_000_000, "service.max_batch_points must be 1..10000000");
        Require(!Cluster.Enabled || Cluster.NatsUrl is not null, "cluster.enabled needs cluster.nats_url (or quiver serve --cluster nats://HOST:4222)");
        Require(Cluster.LogReplicas is >= 1 and <= 5, "cluster.log_replicas must be 1..5");
        Require(Cluster.SnapshotIntervalSec is >= 0 and <= 604_800, "cluster.snapshot_interval_sec must be 0 (never) to 604800");
        Require(Cluster.HeartbeatMs is >= 50 and <= 60_000, "cluster.heartbeat_ms must be 50..60000");
        Require(Cluster.PeerTimeoutMs is >= 100 and <= 600_000, "cluster.peer_timeout_ms must be 100..600000");
        Require(Cluster.Prefix.Length is >= 1 and <= 32 && Cluster.Prefix.All(char.IsAsciiLetterOrDigit), "cluster.prefix must be 1 to 32 letters or digits");
        Require(Cluster.NodeId is null || (Cluster.NodeId.Length <= 128 && !Cluster.NodeId.Any(char.IsWhiteSpace)), "cluster.node_id must be up to 128 characters without spaces");
        Require(Cluster.AdvertiseUrl is null || Uri.TryCreate(Cluster.AdvertiseUrl, UriKind.Absolute, out var advertise) && advertise.Scheme is "http" or "https",
            "cluster.advertise_url must be an http(s) URL");
        Require(!Cluster.Enabled || ChangeStream is null, "change_stream is not available in cluster mode yet");
        Require(!Cluster.Enabled || Storage.StorageSnapshot is null, "storage.storage_snapshot is not available in cluster mode (replicas rebuild from the shard logs)");
        Require(Tracing.OtlpEndpoint is null || Uri.TryCreate(Tracing.OtlpEndpoint, UriKind.Absolute, out var otlp) && otlp.Scheme is "http" or "https",
            "tracing.otlp_endpoint must be an http(s) URL");
    }

    private static Quiver.Ingest.ChangeStream.ChangeStreamOptions? BindChangeStream(IConfigurationSection section)
    {
        var values = section.AsEnumerable(makePathsRelative: true)
            .Where(kv => kv.Value is not null)
            .ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.OrdinalIgnoreCase);
        // Asked by name too, so the configuration reference check sees the key.
        _ = section["kind"];
        try
        {
            return Quiver.Ingest.ChangeStream.ChangeStreamOptions.Parse(values);
        }
        catch (Quiver.Segment.Errors.QuiverException ex)
        {
            throw new InvalidOperationException($"Invalid configuration: {ex.Message}", ex);
        }
    }

    /// <summary>Each entry of the <c>connectors</c> list, read with the same rules as the API's create request.</summary>
    private static List<Quiver.Ingest.Connectors.ConnectorDefinition> BindConnectors(IConfigurationSection section)
    {
        var result = new List<Quiver.Ingest.Connectors.ConnectorDefinition>();
        foreach (var entry in section.GetChildren())
        {
            var values = entry.AsEnumerable(makePathsRelative: true)
                .Where(kv => kv.Value is not null)
                .ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.OrdinalIgnoreCase);
            try
            {
                result.Add(Quiver.Ingest.Connectors.ConnectorDefinition.Parse(values, fromConfig: true));
            }
            catch (Quiver.Segment.Errors.QuiverException ex)
            {
                throw new InvalidOperationException($"Invalid configuration: connectors[{entry.Key}]: {ex.Message}", ex);
            }
        }

        var duplicate = result.GroupBy(c => c.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        Require(duplicate is null, $"connectors: the name '{duplicate?.Key}' is used twice");
        return result;
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
            throw new InvalidOperationException($"Invalid configuration: {message}");
    }

    private static int Int(IConfigurationSection section, string key, int fallback)
    {
        var text = section[key];
        if (text is null)
            return fallback;
        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new InvalidOperationException($"Invalid configuration: {section.Path}.{key} = '{text}' is not an integer");
    }

    private static double Double(IConfigurationSection section, string key, double fallback)
    {
        var text = section[key];
        if (text is null)
            return fallback;
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new InvalidOperationException($"Invalid configuration: {section.Path}.{key} = '{text}' is not a number");
    }

    private static bool Bool(IConfigurationSection section, string key, bool fallback)
    {
        var text = section[key];
        if (text is null)
            return fallback;
        return bool.TryParse(text, out var value)
            ? value
            : throw new InvalidOperationException($"Invalid configuration: {section.Path}.{key} = '{text}' is not true or false");
    }
}
