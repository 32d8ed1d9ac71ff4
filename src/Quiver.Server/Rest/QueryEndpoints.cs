using System.Text.Json;
using Quiver.Engine.Catalog;
using Quiver.Engine.Collections;
using Quiver.Engine.Operations;
using Quiver.Engine.Query;
using Quiver.Segment.Errors;
using Quiver.Segment.Points;
using Quiver.Segment.Segments;

namespace Quiver.Server.Rest;

internal static class QueryEndpoints
{
    public static void MapQueryEndpoints(this IEndpointRouteBuilder app, CollectionCatalog catalog)
    {
        app.MapPost("/collections/{name}/points/query", (HttpContext http, string name) => RestHandler.RunAsync(http, true, req =>
        {
            var collection = catalog.Get(name);
            var result = Run(collection, req.Body, string.Empty, req.Cancellation);
            var unnamed = collection.Config.HasUnnamedVector;
            return ValueTask.FromResult<Action<Utf8JsonWriter>>(w => RestWriter.ScoredList(w, result, unnamed));
        }));

        app.MapPost("/collections/{name}/points/query/batch", (HttpContext http, string name) => RestHandler.RunAsync(http, true, req =>
        {
            var cancellation = req.Cancellation;
            var collection = catalog.Get(name);
            var searches = RestReader.Required(req.Body, "searches", string.Empty);
            if (searches.ValueKind != JsonValueKind.Array)
                throw QuiverException.BadInput("Format error in JSON body: searches: expected an array");
            var results = new List<IReadOnlyList<ScoredRecord>>();
            var i = 0;
            foreach (var search in searches.EnumerateArray())
                results.Add(Run(collection, search, $"searches[{i++}].", cancellation));
            var unnamed = collection.Config.HasUnnamedVector;
            return ValueTask.FromResult<Action<Utf8JsonWriter>>(w =>
            {
                w.WriteStartArray();
                foreach (var r in results)
                    RestWriter.ScoredList(w, r, unnamed);
                w.WriteEndArray();
            });
        }));
    }

    internal static IReadOnlyList<ScoredRecord> Run(Collection collection, JsonElement body, string path, CancellationToken cancellationToken)
    {
        if (body.ValueKind != JsonValueKind.Object)
            throw QuiverException.BadInput($"Format error in JSON body: {path.TrimEnd('.')}: expected an object");
        try
        {
            foreach (var unsupported in new[] { "prefetch", "lookup_from" })
            {
                if (RestReader.TryGet(body, unsupported, out _))
                    throw QuiverException.BadInput($"{unsupported}: not supported yet");
            }

            var limit = RestReader.Int(body, "limit", 10, 0, Collection.MaxLimit);
            var offset = RestReader.Int(body, "offset", 0, 0, Collection.MaxLimit);
            var filter = RestReader.OptionalFilter(body)?.Parsed;
            var withPayload = RestReader.WithPayload(body, false);
            var withVector = RestReader.WithVector(body, false);
            var exact = false;
            var indexedOnly = false;
            int? hnswEf = null;
            QuantizationSearch quantization = default;
            if (RestReader.TryGet(body, "params", out var searchParams))
            {
                quantization = RestReader.Quantization(searchParams, "params");
                exact = RestReader.Bool(searchParams, "exact", false, "params");
                indexedOnly = RestReader.Bool(searchParams, "indexed_only", false, "params");
                if (RestReader.TryGet(searchParams, "hnsw_ef", out _, "params"))
                    hnswEf = RestReader.Int(searchParams, "hnsw_ef", 0, 1, 1_000_000, "params");
            }

            float? threshold = null;
            if (RestReader.TryGet(body, "score_threshold", out var t))
            {
                threshold = t.ValueKind == JsonValueKind.Number
                    ? t.GetSingle()
                    : throw QuiverException.BadInput("Format error in JSON body: score_threshold: expected a number");
            }

            var usingName = RestReader.TryGet(body, "using", out var u) ? RestReader.String(u, "using") : string.Empty;

            if (!RestReader.TryGet(body, "query", out var query))
                return ScrollAsQuery(collection, filter, limit, offset, withPayload, withVector);

            var nearest = ReadNearest(query);
            return collection.Search(
                new SearchRequest(nearest, usingName, filter, limit, offset, threshold, withPayload, withVector, exact, hnswEf, indexedOnly, quantization),
                cancellationToken);
        }
        catch (QuiverException ex) when (path.Length > 0)
        {
            throw new QuiverException(ex.Error with { Message = $"{path}{ex.Message}" });
        }
    }

    /// <summary><c>query</c>: a vector, a point id, or <c>{"nearest": vector | id}</c>.</summary>
    private static NearestQuery ReadNearest(JsonElement query)
    {
        switch (query.ValueKind)
        {
            case JsonValueKind.Array:
                if (query.GetArrayLength() > 0 && query[0].ValueKind == JsonValueKind.Array)
                    throw QuiverException.BadInput("query: multivector queries are not supported yet");
                return new NearestQuery(PointJson.Dense(query, "query"), null);
            case JsonValueKind.Number:
            case JsonValueKind.String:
                return new NearestQuery(null, PointId.FromJson(query, "query"));
            case JsonValueKind.Object:
                if (RestReader.TryGet(query, "nearest", out var nearest))
                {
                    if (RestReader.TryGet(query, "mmr", out _))
                        throw QuiverException.BadInput("query.mmr: not supported yet");
                    return ReadNearest(nearest);
                }

                if (query.TryGetProperty("indices", out _))
                    throw QuiverException.BadInput("query: sparse vectors are not supported yet");
                if (query.TryGetProperty("text", out _))
                    throw QuiverException.BadInput("query: server-side inference (Document) is not supported yet");
                var kind = query.EnumerateObject().Select(p => p.Name).FirstOrDefault();
                throw QuiverException.BadInput(kind is null
                    ? "Format error in JSON body: query: empty query object"
                    : $"query.{kind}: this query type is not supported yet; supported: a vector, a point id, or nearest");
            default:
                throw QuiverException.BadInput("Format error in JSON body: query: expected a vector, a point id or a query object");
        }
    }

    /// <summary>Without a query Qdrant returns points in id order with score 0, like a scroll.</summary>
    private static List<ScoredRecord> ScrollAsQuery(Collection collection, Segment.Filtering.Filter? filter, int limit, int offset, WithPayload withPayload, WithVector withVector)
    {
        if (limit == 0)
            return [];
        var page = collection.Scroll(new ScrollRequest(filter, null, limit + offset, null, withPayload, withVector));
        return page.Points.Skip(offset).Select(p => new ScoredRecord(p.Id, 0, 0, p.Payload, p.Vectors)).ToList();
    }
}
