using Microsoft.Extensions.Configuration;
using Quiver.Server.Hosting;

namespace Quiver.Server.Tests.Hosting;

/// <summary>config file, then QUIVER__SECTION__KEY variables, then flags; later sources win.</summary>
public sealed class ConfigurationTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "quiver-config-" + Guid.NewGuid().ToString("N"));

    public ConfigurationTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string WriteYaml(string text)
    {
        var path = Path.Combine(_dir, "config.yaml");
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void Defaults_when_nothing_is_set()
    {
        var options = QuiverOptions.Bind(ConfigurationLoader.Build(["--config", WriteYaml("service: {}\n")]));
        Assert.Equal("0.0.0.0", options.Service.Host);
        Assert.Equal(6333, options.Service.HttpPort);
        Assert.Equal("./storage", options.Storage.StoragePath);
        Assert.True(options.Storage.Fsync);
    }

    [Fact]
    public void File_then_environment_then_flags()
    {
        var yaml = WriteYaml("service:\n  http_port: 7001\n  host: 127.0.0.1\nstorage:\n  storage_path: /from/file\n  wal_segment_mb: 8\n  flush_interval_sec: 9\n");
        // Only keys no concurrently started test server reads from the environment without a flag overriding it.
        Environment.SetEnvironmentVariable("QUIVER__STORAGE__WAL_SEGMENT_MB", "16");
        Environment.SetEnvironmentVariable("QUIVER__STORAGE__FLUSH_INTERVAL_SEC", "11");
        try
        {
            var options = QuiverOptions.Bind(ConfigurationLoader.Build(["--config", yaml, "--flush-interval-sec", "13", "--http-port=7002"]));
            Assert.Equal("127.0.0.1", options.Service.Host);     // file
            Assert.Equal("/from/file", options.Storage.StoragePath);
            Assert.Equal(16, options.Storage.WalSegmentMb);       // environment over file
            Assert.Equal(13, options.Storage.FlushIntervalSec);   // flag over environment
            Assert.Equal(7002, options.Service.HttpPort);         // flag over file
        }
        finally
        {
            Environment.SetEnvironmentVariable("QUIVER__STORAGE__WAL_SEGMENT_MB", null);
            Environment.SetEnvironmentVariable("QUIVER__STORAGE__FLUSH_INTERVAL_SEC", null);
        }
    }

    [Theory]
    [InlineData("--http-port", "70000", "service.http_port")]
    [InlineData("--http-port", "abc", "http_port")]
    [InlineData("--fsync", "maybe", "fsync")]
    [InlineData("--flush-interval-sec", "0", "storage.flush_interval_sec")]
    public void Invalid_values_name_the_key(string flag, string value, string key)
    {
        var ex = Assert.Throws<InvalidOperationException>(() =>
            QuiverOptions.Bind(ConfigurationLoader.Build(["--config", WriteYaml("service: {}\n"), flag, value])));
        Assert.Contains(key, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("service:\n  api_key: \"\"\n", "service.api_key must not be empty")]
    [InlineData("service:\n  read_only_api_key: \" \"\n", "service.read_only_api_key must not be empty")]
    [InlineData("service:\n  api_key: same\n  read_only_api_key: same\n", "must differ")]
    [InlineData("tracing:\n  sample_ratio: 2\n", "tracing.sample_ratio must be 0..1")]
    [InlineData("change_stream:\n  kind: redis\n", "change_stream: kind 'redis': expected nats or kafka")]
    [InlineData("change_stream:\n  kind: kafka\n", "change_stream: `kafka.bootstrap_servers` is required")]
    [InlineData("change_stream:\n  kind: nats\n  nats:\n    subject: x\n", "change_stream: unknown setting `nats.subject`")]
    [InlineData("connectors:\n  - name: a\n    kind: nats\n", "connectors[0]: connector: `collection` is required")]
    [InlineData("connectors:\n  - name: a\n    kind: nats\n    collection: c\n    nats:\n      stream: S\n      subject: x\n  - name: a\n    kind: nats\n    collection: c\n    nats:\n      stream: S\n      subject: x\n", "connectors: the name 'a' is used twice")]
    [InlineData("tracing:\n  otlp_endpoint: ftp://collector\n", "tracing.otlp_endpoint must be an http(s) URL")]
    [InlineData("tracing:\n  enabled: sometimes\n", "tracing.enabled")]
    [InlineData("service:\n  enable_tls: true\n", "service.enable_tls needs tls.cert and tls.key")]
    [InlineData("service:\n  jwt_rbac: true\n", "service.jwt_rbac needs service.api_key")]
    [InlineData("service:\n  rate_limit_rps: -1\n", "service.rate_limit_rps")]
    [InlineData("service:\n  verify_https_client_certificate: true\n", "needs service.enable_tls and tls.ca_cert")]
    public void Api_keys_and_tracing_settings_are_checked(string yaml, string message)
    {
        var ex = Assert.Throws<InvalidOperationException>(() => QuiverOptions.Bind(ConfigurationLoader.Build(["--config", WriteYaml(yaml)])));
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_key_the_server_reads_is_in_the_configuration_reference_with_its_environment_variable()
    {
        var recorder = new RecordingSource();
        QuiverOptions.Bind(new ConfigurationBuilder().Add(recorder).Build());
        Assert.True(recorder.Keys.Count >= 25, $"only {recorder.Keys.Count} keys read");
        var reference = File.ReadAllText(Path.Combine(Infrastructure.RepoPaths.Root, "docs", "operations.md"));
        var table = reference[reference.IndexOf("## Configuration reference", StringComparison.Ordinal)..];
        table = table[..table.IndexOf("\n## ", 3, StringComparison.Ordinal)];
        foreach (var key in recorder.Keys)
        {
            var dotted = key.Replace(':', '.');
            var variable = "QUIVER__" + key.Replace(":", "__", StringComparison.Ordinal).ToUpperInvariant();
            Assert.True(table.Contains($"`{dotted}`", StringComparison.Ordinal), $"{dotted} is read by the server but not in the configuration reference");
            Assert.True(table.Contains($"`{variable}`", StringComparison.Ordinal), $"{variable} is not in the configuration reference");
        }

        foreach (var (flag, key) in ConfigurationLoader.FlagKeys)
            Assert.True(table.Contains($"`{flag}`", StringComparison.Ordinal) && recorder.Keys.Contains(key), $"flag {flag} ({key})");
    }

    /// <summary>A configuration source that holds nothing and remembers every key asked of it.</summary>
    private sealed class RecordingSource : IConfigurationSource, IConfigurationProvider
    {
        public HashSet<string> Keys { get; } = new(StringComparer.OrdinalIgnoreCase);

        public IConfigurationProvider Build(IConfigurationBuilder builder) => this;

        public bool TryGet(string key, out string? value)
        {
            Keys.Add(key);
            value = null;
            return false;
        }

        public void Set(string key, string? value)
        {
        }

        public Microsoft.Extensions.Primitives.IChangeToken GetReloadToken() => new Microsoft.Extensions.Primitives.CancellationChangeToken(CancellationToken.None);

        public void Load()
        {
        }

        public IEnumerable<string> GetChildKeys(IEnumerable<string> earlierKeys, string? parentPath) => earlierKeys;
    }

    [Fact]
    public void Unknown_flags_and_missing_config_files_are_rejected()
    {
        Assert.Contains("--bogus", Assert.Throws<ArgumentException>(() => ConfigurationLoader.Build(["--bogus", "1"])).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => ConfigurationLoader.Build(["--config", Path.Combine(_dir, "missing.yaml")]));
        Assert.Throws<ArgumentException>(() => ConfigurationLoader.Build(["--http-port"]));
    }
}
