using System.Text.Json;
using Quiver.Ingest.Connectors;
using Quiver.Segment.Errors;

namespace Quiver.Server.Rest;

/// <summary>
/// Quiver's own API for source connectors, under <c>/quiver/connectors</c>: list, show, create or replace, pause,
/// resume, delete. The route parameter is <c>{connector}</c>, not <c>{name}</c>, so access checks never read it as a
/// collection: reads need global read access, changes need manage access.
/// </summary>
internal static class ConnectorEndpoints
{
    public static void MapConnectorEndpoints(this IEndpointRouteBuilder app, ConnectorManager? manager)
    {
        ConnectorManager Manager() => manager ?? throw new QuiverException(QuiverError.Unavailable("connectors are not running on this server"));

        app.MapGet("/quiver/connectors", (HttpContext http) => RestHandler.RunAsync(http, false, _ =>
        {
            var connectors = Manager().List();
            return ValueTask.FromResult<Action<Utf8JsonWriter>>(w =>
            {
                w.WriteStartArray();
                foreach (var c in connectors)
                    Write(w, c);
                w.WriteEndArray();
            });
        }));

        app.MapGet("/quiver/connectors/{connector}", (HttpContext http, string connector) => RestHandler.RunAsync(http, false, _ =>
        {
            var c = Manager().Get(connector);
            return ValueTask.FromResult<Action<Utf8JsonWriter>>(w => Write(w, c));
        }));

        app.MapPut("/quiver/connectors/{connector}", (HttpContext http, string connector) => RestHandler.RunAsync(http, true, async req =>
        {
            var definition = ConnectorDefinition.FromJson(req.Body, connector);
            var created = await Manager().CreateAsync(definition, req.Aborted).ConfigureAwait(false);
            return w => Write(w, created);
        }));

        app.MapDelete("/quiver/connectors/{connector}", (HttpContext http, string connector) => RestHandler.RunAsync(http, false, async req =>
        {
            if (!await Manager().DeleteAsync(connector, req.Aborted).ConfigureAwait(false))
                throw QuiverException.NotFound($"Connector `{connector}` doesn't exist!");
            return RestWriter.True;
        }));

        app.MapPost("/quiver/connectors/{connector}/pause", (HttpContext http, string connector) => RestHandler.RunAsync(http, false, async req =>
        {
            await Manager().SetPausedAsync(connector, true, req.Aborted).ConfigureAwait(false);
            return RestWriter.True;
        }));

        app.MapPost("/quiver/connectors/{connector}/resume", (HttpContext http, string connector) => RestHandler.RunAsync(http, false, async req =>
        {
            await Manager().SetPausedAsync(connector, false, req.Aborted).ConfigureAwait(false);
            return RestWriter.True;
        }));
    }

    private static void Write(Utf8JsonWriter w, SourceConnector connector)
    {
        w.WriteStartObject();
        w.WriteString("name", connector.Definition.Name);
        w.WriteString("defined_in", connector.Definition.FromConfig ? "config" : "api");
        w.WriteBoolean("paused", connector.UserPaused);
        w.WritePropertyName("config");
        connector.Definition.WriteJson(w, redact: true);
        w.WriteStartObject("status");
        connector.Status.WriteJson(w);
        w.WriteEndObject();
        w.WriteEndObject();
    }
}
