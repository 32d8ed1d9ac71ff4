using System.Text.Json;
using Microsoft.Extensions.Logging;
using Quiver.Engine.Catalog;
using Quiver.Ingest.Kafka;
using Quiver.Ingest.Nats;
using Quiver.Segment.Errors;
using Quiver.Storage.Files;

namespace Quiver.Ingest.Connectors;

/// <summary>
/// The server's connectors: those in config.yaml (fixed; they can be paused, not replaced or deleted) and those
/// created over the API, which are kept in <c>{storage}/connectors.dat</c> with their paused flag and started
/// again after a restart.
/// </summary>
public sealed class ConnectorManager : IAsyncDisposable
{
    private const string FileKind = "CONN";
    private readonly CollectionCatalog _catalog;
    private readonly ILogger _logger;
    private readonly string _path;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, SourceConnector> _connectors = new(StringComparer.Ordinal);
    private readonly System.Diagnostics.Metrics.Meter _meter = new("Quiver.Ingest");

    public ConnectorManager(CollectionCatalog catalog, string storagePath, IReadOnlyList<ConnectorDefinition> configured, ILogger logger)
    {
        _catalog = catalog;
        _logger = logger;
        _path = Path.Combine(storagePath, "connectors.dat");
        foreach (var definition in configured)
        {
            if (!_connectors.TryAdd(definition.Name, Create(definition)))
                throw new InvalidOperationException($"Invalid configuration: connector name '{definition.Name}' is used twice");
        }

        foreach (var (name, definition, paused) in Load())
        {
            if (definition is not null && !_connectors.ContainsKey(name))
                _connectors[name] = Create(definition);
            // A config entry wins over an API-created connector of the same name; a pause given over the API
            // holds for either kind.
            if (paused && _connectors.TryGetValue(name, out var connector))
                connector.Pause();
        }

        _meter.CreateObservableGauge("quiver.connector.lag", () => List()
            .Where(c => c.Status.Lag >= 0)
            .Select(c => new System.Diagnostics.Metrics.Measurement<long>(c.Status.Lag, new KeyValuePair<string, object?>("connector", c.Definition.Name))),
            description: "Events in the source the connector has not committed yet.");
    }

    public void StartAll()
    {
        foreach (var connector in _connectors.Values)
            connector.Start();
    }

    public IReadOnlyList<SourceConnector> List()
    {
        lock (_connectors)
            return [.. _connectors.Values.OrderBy(c => c.Definition.Name, StringComparer.Ordinal)];
    }

    public SourceConnector Get(string name)
    {
        lock (_connectors)
            return _connectors.TryGetValue(name, out var c) ? c : throw QuiverException.NotFound($"Connector `{name}` doesn't exist!");
    }

    /// <summary>Creates and starts a connector; an existing API-created one of that name is replaced.</summary>
    public async ValueTask<SourceConnector> CreateAsync(ConnectorDefinition definition, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            SourceConnector? old;
            lock (_connectors)
                _connectors.TryGetValue(definition.Name, out old);
            if (old is { Definition.FromConfig: true })
                throw new QuiverException(QuiverError.Conflict($"Connector `{definition.Name}` is defined in the configuration file; change it there"));
            // The file first: if it cannot be written, nothing has changed.
            Save(definition.Name, (definition, false));
            if (old is not null)
                await old.DisposeAsync().ConfigureAwait(false);
            var connector = Create(definition);
            lock (_connectors)
                _connectors[definition.Name] = connector;
            connector.Start();
            return connector;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask<bool> DeleteAsync(string name, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            SourceConnector? connector;
            lock (_connectors)
                _connectors.TryGetValue(name, out connector);
            if (connector is null)
                return false;
            if (connector.Definition.FromConfig)
                throw new QuiverException(QuiverError.Conflict($"Connector `{name}` is defined in the configuration file; remove it there"));
            Save(name, null);
            lock (_connectors)
                _connectors.Remove(name);
            await connector.DisposeAsync().ConfigureAwait(false);
            return true;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask SetPausedAsync(string name, bool paused, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var connector = Get(name);
            Save(name, (connector.Definition, paused));
            if (paused)
                connector.Pause();
            else
                connector.Resume();
        }
        finally
        {
            _gate.Release();
        }
    }

    private SourceConnector Create(ConnectorDefinition definition) => definition.Kind switch
    {
        ConnectorKind.Nats => new NatsSourceConnector(definition, _catalog, _logger),
        _ => new KafkaSourceConnector(definition, _catalog, _logger),
    };

    /// <summary>
    /// Writes the file as it will be once <paramref name="name"/> is changed to <paramref name="change"/> (null:
    /// removed). Called before the change is made in memory, so a failed write changes nothing (503).
    /// </summary>
    private void Save(string name, (ConnectorDefinition Definition, bool Paused)? change)
    {
        var entries = new SortedDictionary<string, (ConnectorDefinition Definition, bool Paused)>(StringComparer.Ordinal);
        lock (_connectors)
        {
            foreach (var c in _connectors.Values)
                entries[c.Definition.Name] = (c.Definition, c.UserPaused);
        }

        if (change is { } changed)
            entries[name] = changed;
        else
            entries.Remove(name);
        try
        {
            ChecksummedFile.WriteAtomic(_path, FileKind, 1, stream =>
            {
                using var w = new Utf8JsonWriter(stream);
                w.WriteStartArray();
                foreach (var (definition, paused) in entries.Values)
                {
                    // Config-defined connectors are kept only for their paused flag; their settings stay in the file.
                    if (definition.FromConfig && !paused)
                        continue;
                    w.WriteStartObject();
                    w.WriteString("name", definition.Name);
                    w.WriteBoolean("paused", paused);
                    if (!definition.FromConfig)
                    {
                        w.WritePropertyName("definition");
                        definition.WriteJson(w);
                    }

                    w.WriteEndObject();
                }

                w.WriteEndArray();
            });
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new QuiverException(QuiverError.Unavailable($"the connectors file {_path} could not be written: {ex.Message}"));
        }
    }

    private List<(string Name, ConnectorDefinition? Definition, bool Paused)> Load()
    {
        if (!File.Exists(_path))
            return [];
        using var doc = JsonDocument.Parse(ChecksummedFile.Read(_path, FileKind, 1).Body);
        return [.. doc.RootElement.EnumerateArray().Select(e =>
        {
            var definition = e.TryGetProperty("definition", out var d) ? ConnectorDefinition.FromJson(d, null) : null;
            // Entries written before the name was stored on its own carry it only inside the definition.
            var name = e.TryGetProperty("name", out var n) ? n.GetString()! : definition?.Name ?? throw new InvalidDataException("a connectors.dat entry without a name");
            return (name, definition, e.GetProperty("paused").GetBoolean());
        })];
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var connector in List())
            await connector.DisposeAsync().ConfigureAwait(false);
        _gate.Dispose();
        _meter.Dispose();
    }
}
