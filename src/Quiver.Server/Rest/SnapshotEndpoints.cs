using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Quiver.Engine.Catalog;
using Quiver.Engine.Snapshots;
using Quiver.Segment.Errors;
using Quiver.Server.Internal;

namespace Quiver.Server.Rest;

/// <summary>
/// Collection and full-storage snapshots: create, list, download, delete, and recover a collection from a location
/// (file or URL) or an upload. <c>wait</c> defaults to true here (as in Qdrant); with false the work runs in the
/// background and the answer is 202.
/// </summary>
internal static class SnapshotEndpoints
{
    public static void MapSnapshotEndpoints(this IEndpointRouteBuilder app, CollectionCatalog catalog)
    {
        var store = catalog.Snapshots;
        app.MapGet("/collections/{name}/snapshots", (HttpContext http, string name) => RestHandler.RunAsync(http, false, _ =>
        {
            var list = store.List(catalog.Get(name).Name);
            return Done(w => WriteList(w, list));
        }));

        app.MapPost("/collections/{name}/snapshots", (HttpContext http, string name) => RestHandler.RunAsync(http, false, async req =>
        {
            var collection = catalog.Get(name).Name;
            var info = await RunAsync(req, catalog, collection, ct => catalog.CreateSnapshotAsync(collection, ct)).ConfigureAwait(false);
            return w => WriteInfo(w, info);
        }));

        app.MapGet("/collections/{name}/snapshots/{snapshot}", (HttpContext http, string name, string snapshot) =>
            DownloadAsync(http, () => store.PathOf(catalog.Get(name).Name, snapshot)));

        app.MapDelete("/collections/{name}/snapshots/{snapshot}", (HttpContext http, string name, string snapshot) => RestHandler.RunAsync(http, false, req =>
        {
            _ = Wait(req);
            var deleted = store.Delete(catalog.Get(name).Name, snapshot);
            return deleted ? Done(RestWriter.True) : throw QuiverException.NotFound($"Not found: Snapshot {snapshot} not found");
        }));

        app.MapPut("/collections/{name}/snapshots/recover", (HttpContext http, string name) => RestHandler.RunAsync(http, true, async req =>
        {
            var (location, checksum, apiKey) = ReadRecover(req.Body);
            var wait = Wait(req);
            var source = await SnapshotSources.FromLocationAsync(store, location, apiKey, req.Aborted).ConfigureAwait(false);
            await RecoverAsync(req, wait, catalog, name, source, checksum).ConfigureAwait(false);
            return RestWriter.True;
        }));

        app.MapPost("/collections/{name}/snapshots/upload", (HttpContext http, string name) => RestHandler.RunAsync(http, false, async req =>
        {
            var wait = Wait(req);
            var checksum = Checksum(req.Http.Request.Query.TryGetValue("checksum", out var c) ? c.ToString() : null);
            ReadPriority(req.Http.Request.Query.TryGetValue("priority", out var p) ? p.ToString() : null);
            var source = await SnapshotSources.FromUploadAsync(store, req.Http).ConfigureAwait(false);
            await RecoverAsync(req, wait, catalog, name, source, checksum).ConfigureAwait(false);
            return RestWriter.True;
        }));

        app.MapGet("/snapshots", (HttpContext http) => RestHandler.RunAsync(http, false, _ =>
        {
            var list = store.List(null);
            return Done(w => WriteList(w, list));
        }));

        app.MapPost("/snapshots", (HttpContext http) => RestHandler.RunAsync(http, false, async req =>
        {
            var info = await RunAsync(req, catalog, "full storage", catalog.CreateFullSnapshotAsync).ConfigureAwait(false);
            return w => WriteInfo(w, info);
        }));

        app.MapGet("/snapshots/{snapshot}", (HttpContext http, string snapshot) => DownloadAsync(http, () => store.PathOf(null, snapshot)));

        app.MapDelete("/snapshots/{snapshot}", (HttpContext http, string snapshot) => RestHandler.RunAsync(http, false, req =>
        {
            _ = Wait(req);
            return store.Delete(null, snapshot) ? Done(RestWriter.True) : throw QuiverException.NotFound($"Not found: Snapshot {snapshot} not found");
        }));
    }

    private static bool Wait(RestRequest req) => req.QueryBool("wait") ?? true;

    /// <summary>Runs <paramref name="work"/> now, or with wait=false in the background (the request then gets 202).</summary>
    private static async ValueTask<SnapshotInfo?> RunAsync(RestRequest req, CollectionCatalog catalog, string target, Func<CancellationToken, ValueTask<SnapshotInfo>> work)
    {
        if (Wait(req))
            return await work(req.Aborted).ConfigureAwait(false);
        StartBackground(req, catalog, target, async () => await work(CancellationToken.None).ConfigureAwait(false));
        return null;
    }

    private static async ValueTask RecoverAsync(RestRequest req, bool wait, CollectionCatalog catalog, string name, SnapshotSources.Received source, string? checksum)
    {
        if (wait)
        {
            using (source)
                await catalog.RecoverSnapshotAsync(name, source.Path, checksum, req.Aborted).ConfigureAwait(false);
            return;
        }

        StartBackground(req, catalog, name, async () =>
        {
            using (source)
                await catalog.RecoverSnapshotAsync(name, source.Path, checksum, CancellationToken.None).ConfigureAwait(false);
        });
    }

    private static void StartBackground(RestRequest req, CollectionCatalog catalog, string target, Func<Task> work)
    {
        var logger = req.Http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Quiver.Snapshots");
        req.Accepted = true;
        catalog.RunInBackground(work, ex => ServerLog.SnapshotTaskFailed(logger, ex, target));
    }

    private static async Task DownloadAsync(HttpContext http, Func<string> locate)
    {
        string path;
        try
        {
            path = locate();
        }
        catch (QuiverException ex)
        {
            await RestHandler.WriteErrorAsync(http, ErrorMapping.HttpStatus(ex.Error.Kind), ex.Error.Message, System.Diagnostics.Stopwatch.GetTimestamp()).ConfigureAwait(false);
            return;
        }

        await Results.File(path, "application/octet-stream", Path.GetFileName(path), enableRangeProcessing: true).ExecuteAsync(http).ConfigureAwait(false);
    }

    private static (string Location, string? Checksum, string? ApiKey) ReadRecover(JsonElement body)
    {
        string? location = null, checksum = null, apiKey = null;
        foreach (var property in body.EnumerateObject())
        {
            switch (property.Name)
            {
                case "location":
                    location = String(property);
                    break;
                case "checksum":
                    checksum = Checksum(String(property));
                    break;
                case "api_key":
                    apiKey = String(property);
                    break;
                case "priority":
                    ReadPriority(String(property));
                    break;
                default:
                    throw QuiverException.BadInput($"Format error in JSON body: unknown field `{property.Name}`, expected one of `location`, `priority`, `checksum`, `api_key`");
            }
        }

        return (location ?? throw QuiverException.BadInput("Format error in JSON body: missing field `location`"), checksum, apiKey);
    }

    private static string? String(JsonProperty property) => property.Value.ValueKind switch
    {
        JsonValueKind.String => property.Value.GetString(),
        JsonValueKind.Null => null,
        _ => throw QuiverException.BadInput($"Format error in JSON body: {property.Name}: expected a string"),
    };

    private static string? Checksum(string? value) =>
        value is null || (value.Length == 64 && value.All(char.IsAsciiHexDigit))
            ? value
            : throw QuiverException.BadInput($"Wrong input: checksum `{value}` is not a SHA-256 (64 hexadecimal digits)");

    /// <summary>On one node every priority recovers the same way; an unknown one is still an error.</summary>
    private static void ReadPriority(string? value)
    {
        if (value is not (null or "no_sync" or "snapshot" or "replica"))
            throw QuiverException.BadInput($"Wrong input: priority `{value}` is not one of no_sync, snapshot, replica");
    }

    private static ValueTask<Action<Utf8JsonWriter>> Done(Action<Utf8JsonWriter> write) => ValueTask.FromResult(write);

    private static void WriteList(Utf8JsonWriter w, IReadOnlyList<SnapshotInfo> list)
    {
        w.WriteStartArray();
        foreach (var info in list)
            WriteInfo(w, info);
        w.WriteEndArray();
    }

    private static void WriteInfo(Utf8JsonWriter w, SnapshotInfo? info)
    {
        if (info is null)
        {
            w.WriteNullValue();
            return;
        }

        w.WriteStartObject();
        w.WriteString("name", info.Name);
        w.WriteString("creation_time", info.CreationTime.ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture));
        w.WriteNumber("size", info.Size);
        if (info.Checksum is null)
            w.WriteNull("checksum");
        else
            w.WriteString("checksum", info.Checksum);
        w.WriteEndObject();
    }
}
