using Microsoft.Extensions.Configuration;

namespace Quiver.Server.Hosting;

/// <summary>
/// Builds the configuration in precedence order: <c>config/config.yaml</c> (or <c>--config FILE</c>), then
/// environment variables <c>QUIVER__SECTION__KEY</c>, then command-line flags.
/// </summary>
public static class ConfigurationLoader
{
    public const string DefaultConfigPath = "config/config.yaml";

    /// <summary>The flags <c>quiver serve</c> accepts and the config keys they set.</summary>
    public static IReadOnlyDictionary<string, string> FlagKeys { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["--host"] = "service:host",
        ["--http-port"] = "service:http_port",
        ["--grpc-port"] = "service:grpc_port",
        ["--max-request-size-mb"] = "service:max_request_size_mb",
        ["--storage-path"] = "storage:storage_path",
        ["--fsync"] = "storage:fsync",
        ["--flush-interval-sec"] = "storage:flush_interval_sec",
        ["--snapshots-path"] = "storage:snapshots_path",
        ["--storage-snapshot"] = "storage:storage_snapshot",
        ["--cluster"] = "cluster:nats_url",
        ["--node-id"] = "cluster:node_id",
        ["--advertise-url"] = "cluster:advertise_url",
    };

    public static IConfiguration Build(IReadOnlyList<string> args)
    {
        string? configPath = null;
        var flags = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            var eq = arg.IndexOf('=', StringComparison.Ordinal);
            var name = eq > 0 ? arg[..eq] : arg;
            string Value()
            {
                if (eq > 0)
                    return arg[(eq + 1)..];
                if (i + 1 >= args.Count)
                    throw new ArgumentException($"{name} needs a value");
                return args[++i];
            }

            if (name == "--config")
            {
                configPath = Value();
                continue;
            }

            if (!FlagKeys.TryGetValue(name, out var key))
                throw new ArgumentException($"unknown option {name}; known: --config, {string.Join(", ", FlagKeys.Keys)}");
            flags.Add($"--{key}={Value()}");
            // --cluster URL both turns cluster mode on and says where NATS is.
            if (name == "--cluster")
                flags.Add("--cluster:enabled=true");
        }

        if (configPath is not null && !File.Exists(configPath))
            throw new ArgumentException($"config file {configPath} does not exist");

        return new ConfigurationBuilder()
            .AddYamlFile(Path.GetFullPath(configPath ?? DefaultConfigPath), optional: configPath is null, reloadOnChange: false)
            .AddEnvironmentVariables("QUIVER__")
            .AddCommandLine([.. flags])
            .Build();
    }
}
