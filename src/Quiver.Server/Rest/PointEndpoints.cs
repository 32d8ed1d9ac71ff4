using System.Text;
using System.Text.Json;
using Quiver.Engine.Catalog;
using Quiver.Engine.Collections;
using Quiver.Engine.Operations;
using Quiver.Engine.Query;
using Quiver.Segment.Errors;
using Quiver.Segment.Points;

using Quiver.Server.Cluster;

namespace Quiver.Server.Rest;

internal static class PointEndpoints
{
    public static void MapPointEndpoints(this IEndpointRouteBuilder app, CollectionCatalog catalog, Inference.DocumentInference inference)
    {
        MapWrite(app, catalog, inference, "PUT", "/points", (body, documents) => new UpsertPoints(RestReader.Upsert(body, documents)));
        MapWrite(app, catalog, inference, "POST", "/points/delete", body => new DeletePoints(RestReader.Selector(body)));
        MapWrite(app, catalog, inference, "POST", "/points/payload", ReadSetPayload);
        MapWrite(app, catalog, inference, "PUT", "/points/payload", ReadOverwritePayload);
        MapWrite(app, catalog, inference, "POST", "/points/payload/delete", ReadDeletePayload);
        MapWrite(app, catalog, inference, "POST", "/points/payload/clear", body => new ClearPayload(RestReader.Selector(body)));
        MapWrite(app, catalog, inference, "PUT", "/points/vectors", ReadUpdateVectors);
        MapWrite(app, catalog, inference, "POST", "/points/vectors/delete", ReadDeleteVectors);
        MapWrite(app, catalog, inference, "PUT", "/index", ReadCreateIndex);

        app.MapDelete("/collections/{name}/index/{field}", (HttpContext http, string name, string field) => RestHandler.RunAsync(http, false, async req =>
        {
            req.ValidateWriteParameters();
            var receipt = new WriteReceipt();
            var result = await ReshardRetry.WriteAsync(catalog, name, c => c.ApplyAsync(new DeleteFieldIndex(field), req.Wait, req.Cancellation, receipt), req.Cancellation).ConfigureAwait(false);
            WriteToken.Set(http, receipt);
            return RestWriter.Update(result);
        }));

        app.MapPost("/collections/{name}/points/batch", (HttpContext http, string name) => RestHandler.RunAsync(http, true, async req =>
        {
            req.ValidateWriteParameters();
            var collection = catalog.Get(name);
            CheckBatchSize(http, req.Body);
            var documents = await inference.ResolveAsync(req.Body, Inference.DocumentRole.Stored, req.Cancellation).ConfigureAwait(false);
            var operations = ReadBatch(req.Body, documents);
            CheckBatchSize(http, operations);
            var receipt = new WriteReceipt();
            var results = await ReshardRetry.WriteAsync(catalog, name, c => c.ApplyBatchAsync(operations, req.Wait, req.Cancellation, receipt), req.Cancellation).ConfigureAwait(false);
            WriteToken.Set(http, receipt);
            return w =>
            {
                w.WriteStartArray();
                foreach (var r in results)
                    RestWriter.WriteUpdate(w, r);
                w.WriteEndArray();
            };
        }));

        app.MapGet("/collections/{name}/points/{id}", (HttpContext http, string name, string id) => RestHandler.RunAsync(http, false, _ =>
        {
            var collection = catalog.ForRead(http, name);
            if (!PointId.TryParse(id, out var pointId))
                throw QuiverException.BadInput($"Wrong input: `{id}` is not a valid point ID, valid values are either an unsigned integer or a UUID");
            var record = collection.Get([pointId], WithPayload.All, WithVector.All).FirstOrDefault()
                ?? throw QuiverException.NotFound($"Not found: Point with id {pointId} does not exists!");
            var unnamed = collection.Config.HasUnnamedVector;
            return Done(w => RestWriter.Record(w, record, unnamed));
        }));

        app.MapPost("/collections/{name}/points", (HttpContext http, string name) => RestHandler.RunAsync(http, true, req =>
        {
            var collection = catalog.ForRead(http, name);
            var ids = RestReader.Ids(RestReader.Required(req.Body, "ids", string.Empty), "ids");
            var records = collection.Get(ids, RestReader.WithPayload(req.Body, true), RestReader.WithVector(req.Body, false));
            var unnamed = collection.Config.HasUnnamedVector;
            return Done(w =>
            {
                w.WriteStartArray();
                foreach (var r in records)
                    RestWriter.Record(w, r, unnamed);
                w.WriteEndArray();
            });
        }));

        app.MapPost("/collections/{name}/points/scroll", (HttpContext http, string name) => RestHandler.RunAsync(http, true, req =>
        {
            var collection = catalog.ForRead(http, name);
            var result = collection.Scroll(ReadScroll(req.Body));
            var unnamed = collection.Config.HasUnnamedVector;
            return Done(w =>
            {
                w.WriteStartObject();
                w.WriteStartArray("points");
                foreach (var r in result.Points)
                    RestWriter.Record(w, r, unnamed);
                w.WriteEndArray();
                w.WritePropertyName("next_page_offset");
                if (result.NextPageOffset is { } next)
                    next.WriteTo(w);
                else
                    w.WriteNullValue();
                w.WriteEndObject();
            });
        }));

        app.MapPost("/collections/{name}/points/count", (HttpContext http, string name) => RestHandler.RunAsync(http, true, req =>
        {
            var collection = catalog.ForRead(http, name);
            RestReader.Bool(req.Body, "exact", true);
            var count = collection.Count(RestReader.OptionalFilter(req.Body)?.Parsed);
            return Done(w =>
            {
                w.WriteStartObject();
                w.WriteNumber("count", count);
                w.WriteEndObject();
            });
        }));

        app.MapPost("/collections/{name}/facet", (HttpContext http, string name) => RestHandler.RunAsync(http, true, req =>
        {
            var collection = catalog.ForRead(http, name);
            var key = RestReader.String(RestReader.Required(req.Body, "key", string.Empty), "key");
            var limit = RestReader.Int(req.Body, "limit", 10, 1, Collection.MaxLimit);
            // Counts are always exact here: each segment's index is read whole.
            RestReader.Bool(req.Body, "exact", false);
            var hits = collection.Facet(key, RestReader.OptionalFilter(req.Body)?.Parsed, limit);
            return Done(w =>
            {
                w.WriteStartObject();
                w.WriteStartArray("hits");
                foreach (var hit in hits)
                {
                    w.WriteStartObject();
                    switch (hit.Value)
                    {
                        case string text:
                            w.WriteString("value", text);
                            break;
                        case long number:
                            w.WriteNumber("value", number);
                            break;
                        case bool flag:
                            w.WriteBoolean("value", flag);
                            break;
                        default:
                            throw new InvalidOperationException($"facet value of type {hit.Value.GetType().Name}");
                    }

                    w.WriteNumber("count", hit.Count);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteEndObject();
            });
        }));
    }

    private static ValueTask<Action<Utf8JsonWriter>> Done(Action<Utf8JsonWriter> write) => ValueTask.FromResult(write);

    internal static ScrollRequest ReadScroll(JsonElement body) => new(
        RestReader.OptionalFilter(body)?.Parsed,
        RestReader.TryGet(body, "offset", out var offset) ? PointId.FromJson(offset, "offset") : null,
        RestReader.Int(body, "limit", 10, 1, Collection.MaxLimit),
        ReadOrderBy(body),
        RestReader.WithPayload(body, true),
        RestReader.WithVector(body, false));

    /// <summary>
    /// <c>service.max_batch_points</c>: a request writing more points than that is refused whole, before anything is
    /// applied (a batch counts all its operations).
    /// </summary>
    internal static void CheckBatchSize(HttpContext http, IReadOnlyList<PointOperation> operations)
    {
        long points = 0;
        foreach (var operation in operations)
        {
            points += operation switch
            {
                UpsertPoints upsert => upsert.Points.Count,
                UpdateVectors update => update.Points.Count,
                _ => 0,
            };
        }

        CheckBatchSize(http, points);
    }

    /// <summary>
    /// The same limit counted on the raw body (points, a columnar batch's ids, a batch's upserts and vector updates),
    /// before any document in it is embedded: an oversized request costs no model time.
    /// </summary>
    internal static void CheckBatchSize(HttpContext http, JsonElement body)
    {
        static long Points(JsonElement b) =>
            (b.ValueKind == JsonValueKind.Object && b.TryGetProperty("points", out var p) && p.ValueKind == JsonValueKind.Array ? p.GetArrayLength() : 0)
            + (b.ValueKind == JsonValueKind.Object && b.TryGetProperty("batch", out var c) && c.ValueKind == JsonValueKind.Object
                && c.TryGetProperty("ids", out var ids) && ids.ValueKind == JsonValueKind.Array ? ids.GetArrayLength() : 0);
        var points = Points(body);
        if (body.ValueKind == JsonValueKind.Object && body.TryGetProperty("operations", out var operations) && operations.ValueKind == JsonValueKind.Array)
        {
            foreach (var op in operations.EnumerateArray())
            {
                if (op.ValueKind != JsonValueKind.Object)
                    continue;
                foreach (var entry in op.EnumerateObject())
                {
                    if (entry.Name is "upsert" or "update_vectors")
                        points += Points(entry.Value);
                }
            }
        }

        CheckBatchSize(http, points);
    }

    private static void CheckBatchSize(HttpContext http, long points)
    {
        var limit = http.RequestServices.GetService(typeof(Hosting.ServiceOptions)) is Hosting.ServiceOptions options ? options.MaxBatchPoints : int.MaxValue;
        if (points > limit)
            throw QuiverException.BadInput($"Bad request: {points} points in one request; at most {limit} (service.max_batch_points): split it into smaller batches");
    }

    private static void MapWrite(IEndpointRouteBuilder app, CollectionCatalog catalog, Inference.DocumentInference inference, string method, string suffix, Func<JsonElement, PointOperation> read) =>
        MapWrite(app, catalog, inference, method, suffix, (body, _) => read(body));

    /// <summary>A write endpoint whose body may hold documents, embedded before it is read.</summary>
    private static void MapWrite(IEndpointRouteBuilder app, CollectionCatalog catalog, Inference.DocumentInference inference, string method, string suffix, Func<JsonElement, Inference.DocumentVectors?, PointOperation> read) =>
        app.MapMethods("/collections/{name}" + suffix, [method], (HttpContext http, string name) => RestHandler.RunAsync(http, true, async req =>
        {
            req.ValidateWriteParameters();
            var collection = catalog.Get(name);
            CheckBatchSize(http, req.Body);
            var documents = await inference.ResolveAsync(req.Body, Inference.DocumentRole.Stored, req.Cancellation).ConfigureAwait(false);
            var operation = read(req.Body, documents);
            CheckBatchSize(http, [operation]);
            var receipt = new WriteReceipt();
            var result = await ReshardRetry.WriteAsync(catalog, name, c => c.ApplyAsync(operation, req.Wait, req.Cancellation, receipt), req.Cancellation).ConfigureAwait(false);
            WriteToken.Set(http, receipt);
            return RestWriter.Update(result);
        }));

    private static SetPayload ReadSetPayload(JsonElement body) => new(
        PointJson.PayloadObject(RestReader.Required(body, "payload", string.Empty), "payload"),
        RestReader.Selector(body),
        RestReader.TryGet(body, "key", out var key) ? RestReader.String(key, "key") : null);

    private static PointOperation ReadOverwritePayload(JsonElement body) => new OverwritePayload(
        PointJson.PayloadObject(RestReader.Required(body, "payload", string.Empty), "payload"), RestReader.Selector(body));

    private static PointOperation ReadDeletePayload(JsonElement body) => new DeletePayloadKeys(
        RestReader.Strings(RestReader.Required(body, "keys", string.Empty), "keys"), RestReader.Selector(body));

    private static PointOperation ReadDeleteVectors(JsonElement body) => new DeleteVectors(
        RestReader.Selector(body), RestReader.Strings(RestReader.Required(body, "vector", string.Empty), "vector"));

    private static UpdateVectors ReadUpdateVectors(JsonElement body, Inference.DocumentVectors? documents)
    {
        var points = RestReader.Required(body, "points", string.Empty);
        if (points.ValueKind != JsonValueKind.Array)
            throw QuiverException.BadInput("Format error in JSON body: points: expected an array");
        var result = new List<PointVectors>();
        var i = 0;
        foreach (var p in points.EnumerateArray())
        {
            var path = $"points[{i++}]";
            result.Add(new PointVectors(
                PointId.FromJson(RestReader.Required(p, "id", path), $"{path}.id"),
                PointJson.VectorStruct(RestReader.Required(p, "vector", path), $"{path}.vector", documents is null ? null : documents.Vector)));
        }

        return new UpdateVectors(result);
    }

    internal static CreateFieldIndex ReadCreateIndex(JsonElement body)
    {
        var field = RestReader.String(RestReader.Required(body, "field_name", string.Empty), "field_name");
        if (!RestReader.TryGet(body, "field_schema", out var schema))
            throw QuiverException.BadInput("Format error in JSON body: field_schema: required (Quiver does not infer index types)");
        return new CreateFieldIndex(field, Encoding.UTF8.GetBytes(schema.GetRawText()));
    }

    internal static OrderBy? ReadOrderBy(JsonElement body)
    {
        if (!RestReader.TryGet(body, "order_by", out var v))
            return null;
        if (v.ValueKind == JsonValueKind.String)
            return new OrderBy(v.GetString()!, false, null);
        var key = RestReader.String(RestReader.Required(v, "key", "order_by"), "order_by.key");
        var descending = false;
        if (RestReader.TryGet(v, "direction", out var direction))
        {
            descending = direction.ValueKind == JsonValueKind.String ? direction.GetString() switch
            {
                "asc" => false,
                "desc" => true,
                _ => throw QuiverException.BadInput("Format error in JSON body: order_by.direction: expected asc or desc"),
            } : throw QuiverException.BadInput("Format error in JSON body: order_by.direction: expected asc or desc");
        }

        double? startFrom = null;
        if (RestReader.TryGet(v, "start_from", out var start))
        {
            startFrom = start.ValueKind switch
            {
                JsonValueKind.Number => start.GetDouble(),
                JsonValueKind.String when DateTimeOffset.TryParse(start.GetString(), System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var dt)
                    => (dt.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10.0, // datetime indexes order by UTC microseconds
                _ => throw QuiverException.BadInput("Format error in JSON body: order_by.start_from: expected a number or a datetime"),
            };
        }

        return new OrderBy(key, descending, startFrom);
    }

    internal static List<PointOperation> ReadBatch(JsonElement body, Inference.DocumentVectors? documents = null)
    {
        var operations = RestReader.Required(body, "operations", string.Empty);
        if (operations.ValueKind != JsonValueKind.Array)
            throw QuiverException.BadInput("Format error in JSON body: operations: expected an array");
        var result = new List<PointOperation>();
        var i = 0;
        foreach (var op in operations.EnumerateArray())
        {
            var path = $"operations[{i++}]";
            if (op.ValueKind != JsonValueKind.Object || op.GetPropertyCount() != 1)
                throw QuiverException.BadInput($"Format error in JSON body: {path}: expected an object with exactly one operation");
            var entry = op.EnumerateObject().First();
            var b = entry.Value;
            try
            {
                result.Add(entry.Name switch
                {
                    "upsert" => new UpsertPoints(RestReader.Upsert(b, documents)),
                    "delete" => new DeletePoints(RestReader.Selector(b)),
                    "set_payload" => ReadSetPayload(b),
                    "overwrite_payload" => ReadOverwritePayload(b),
                    "delete_payload" => ReadDeletePayload(b),
                    "clear_payload" => new ClearPayload(RestReader.Selector(b)),
                    "update_vectors" => ReadUpdateVectors(b, documents),
                    "delete_vectors" => ReadDeleteVectors(b),
                    _ => throw QuiverException.BadInput($"Format error in JSON body: {path}: unknown operation `{entry.Name}`"),
                });
            }
            catch (QuiverException ex) when (!ex.Message.Contains(path, StringComparison.Ordinal))
            {
                throw new QuiverException(ex.Error with { Message = $"{path}.{entry.Name}: {ex.Message}" });
            }
        }

        return result;
    }
}
