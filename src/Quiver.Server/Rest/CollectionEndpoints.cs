using System.Text.Json;
using Quiver.Engine.Catalog;
using Quiver.Engine.Collections;
using Quiver.Segment.Errors;

namespace Quiver.Server.Rest;

internal static class CollectionEndpoints
{
    public static void MapCollectionEndpoints(this IEndpointRouteBuilder app, CollectionCatalog catalog)
    {
        app.MapGet("/collections", (HttpContext http) => RestHandler.RunAsync(http, false, _ =>
            Done(w =>
            {
                w.WriteStartObject();
                w.WriteStartArray("collections");
                // A token scoped to some collections sees only those.
                var grant = http.Features.Get<Security.AccessGrant>();
                foreach (var name in catalog.CollectionNames.Where(n => grant?.CanRead(n) ?? true))
                {
                    w.WriteStartObject();
                    w.WriteString("name", name);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteEndObject();
            })));

        app.MapGet("/collections/{name}", (HttpContext http, string name) => RestHandler.RunAsync(http, false, _ =>
        {
            var collection = catalog.Get(name);
            return Done(w => RestWriter.CollectionInfo(w, collection));
        }));

        app.MapGet("/collections/{name}/optimizations", (HttpContext http, string name) => RestHandler.RunAsync(http, false, _ =>
        {
            var running = catalog.Get(name).Optimizations();
            return Done(w => RestWriter.Optimizations(w, running));
        }));

        app.MapGet("/collections/{name}/exists", (HttpContext http, string name) => RestHandler.RunAsync(http, false, _ =>
        {
            var exists = catalog.Exists(name);
            return Done(w =>
            {
                w.WriteStartObject();
                w.WriteBoolean("exists", exists);
                w.WriteEndObject();
            });
        }));

        app.MapPut("/collections/{name}", (HttpContext http, string name) => RestHandler.RunAsync(http, true, async req =>
        {
            req.QueryInt("timeout", 1);
            var config = CollectionConfig.FromCreateRequest(req.Body);
            await catalog.CreateAsync(name, config, req.Aborted).ConfigureAwait(false);
            return RestWriter.True;
        }));

        app.MapPatch("/collections/{name}", (HttpContext http, string name) => RestHandler.RunAsync(http, true, async req =>
        {
            await catalog.UpdateAsync(name, req.Body, req.Aborted).ConfigureAwait(false);
            return RestWriter.True;
        }));

        app.MapDelete("/collections/{name}", (HttpContext http, string name) => RestHandler.RunAsync(http, false, async req =>
        {
            var deleted = await catalog.DeleteAsync(name, req.Aborted).ConfigureAwait(false);
            return w => w.WriteBooleanValue(deleted);
        }));

        app.MapPost("/collections/aliases", (HttpContext http) => RestHandler.RunAsync(http, true, async req =>
        {
            await catalog.ChangeAliasesAsync(ReadAliasActions(req.Body), req.Aborted).ConfigureAwait(false);
            return RestWriter.True;
        }));

        app.MapGet("/aliases", (HttpContext http) => RestHandler.RunAsync(http, false, _ =>
            Done(w => WriteAliases(w, catalog.Aliases.Where(a => http.Features.Get<Security.AccessGrant>()?.CanRead(a.Value) ?? true)))));

        app.MapGet("/collections/{name}/aliases", (HttpContext http, string name) => RestHandler.RunAsync(http, false, _ =>
        {
            var collection = catalog.Get(name);
            return Done(w => WriteAliases(w, catalog.Aliases.Where(a => a.Value == collection.Name)));
        }));
    }

    private static ValueTask<Action<Utf8JsonWriter>> Done(Action<Utf8JsonWriter> write) => ValueTask.FromResult(write);

    private static void WriteAliases(Utf8JsonWriter w, IEnumerable<KeyValuePair<string, string>> aliases)
    {
        w.WriteStartObject();
        w.WriteStartArray("aliases");
        foreach (var (alias, collection) in aliases.OrderBy(a => a.Key, StringComparer.Ordinal))
        {
            w.WriteStartObject();
            w.WriteString("alias_name", alias);
            w.WriteString("collection_name", collection);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static List<AliasAction> ReadAliasActions(JsonElement body)
    {
        var actions = RestReader.Required(body, "actions", string.Empty);
        if (actions.ValueKind != JsonValueKind.Array)
            throw QuiverException.BadInput("Format error in JSON body: actions: expected an array");
        var result = new List<AliasAction>();
        var i = 0;
        foreach (var action in actions.EnumerateArray())
        {
            var path = $"actions[{i++}]";
            if (RestReader.TryGet(action, "create_alias", path: path, value: out var create))
            {
                result.Add(new AliasAction.Create(
                    RestReader.String(RestReader.Required(create, "alias_name", $"{path}.create_alias"), $"{path}.create_alias.alias_name"),
                    RestReader.String(RestReader.Required(create, "collection_name", $"{path}.create_alias"), $"{path}.create_alias.collection_name")));
            }
            else if (RestReader.TryGet(action, "delete_alias", path: path, value: out var delete))
            {
                result.Add(new AliasAction.Delete(
                    RestReader.String(RestReader.Required(delete, "alias_name", $"{path}.delete_alias"), $"{path}.delete_alias.alias_name")));
            }
            else if (RestReader.TryGet(action, "rename_alias", path: path, value: out var rename))
            {
                result.Add(new AliasAction.Rename(
                    RestReader.String(RestReader.Required(rename, "old_alias_name", $"{path}.rename_alias"), $"{path}.rename_alias.old_alias_name"),
                    RestReader.String(RestReader.Required(rename, "new_alias_name", $"{path}.rename_alias"), $"{path}.rename_alias.new_alias_name")));
            }
            else
            {
                throw QuiverException.BadInput($"Format error in JSON body: {path}: expected create_alias, delete_alias or rename_alias");
            }
        }

        return result;
    }
}
