using System.Text.Json;
using Quiver.Engine.Catalog;
using Quiver.Engine.Collections;
using Quiver.Engine.Operations;
using Quiver.Engine.Query;
using Quiver.Segment.Errors;
using Quiver.Segment.Points;
using Quiver.Segment.Segments;

using Quiver.Server.Cluster;

namespace Quiver.Server.Rest;

internal static class QueryEndpoints
{
    public static void MapQueryEndpoints(this IEndpointRouteBuilder app, CollectionCatalog catalog, Inference.DocumentInference inference)
    {
        app.MapPost("/collections/{name}/points/query", (HttpContext http, string name) => RestHandler.RunAsync(http, true, async req =>
        {
            var collection = catalog.ForRead(http, name);
            var documents = await inference.ResolveAsync(req.Body, Inference.DocumentRole.Query, req.Cancellation).ConfigureAwait(false);
            var result = Run(collection, req.Body, string.Empty, req.Cancellation, documents);
            var unnamed = collection.Config.HasUnnamedVector;
            return (Action<Utf8JsonWriter>)(w => RestWriter.ScoredList(w, result, unnamed));
        }));

        app.MapPost("/collections/{name}/points/query/groups", (HttpContext http, string name) => RestHandler.RunAsync(http, true, async req =>
        {
            var collection = catalog.Get(name);
            var documents = await inference.ResolveAsync(req.Body, Inference.DocumentRole.Query, req.Cancellation).ConfigureAwait(false);
            return RunGroups(catalog, collection, req.Body, documents, http.Features.Get<Security.AccessGrant>(), req.Cancellation);
        }));

        app.MapPost("/collections/{name}/points/search/matrix/pairs", (HttpContext http, string name) => RestHandler.RunAsync(http, true, req =>
        {
            var matrix = ReadMatrix(catalog.Get(name), req.Body, req.Cancellation);
            return ValueTask.FromResult<Action<Utf8JsonWriter>>(w =>
            {
                w.WriteStartObject();
                w.WriteStartArray("pairs");
                foreach (var (row, column, score) in matrix.Entries)
                {
                    w.WriteStartObject();
                    w.WritePropertyName("a");
                    matrix.Ids[row].WriteTo(w);
                    w.WritePropertyName("b");
                    matrix.Ids[column].WriteTo(w);
                    w.WriteNumber("score", score);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteEndObject();
            });
        }));

        app.MapPost("/collections/{name}/points/search/matrix/offsets", (HttpContext http, string name) => RestHandler.RunAsync(http, true, req =>
        {
            var matrix = ReadMatrix(catalog.Get(name), req.Body, req.Cancellation);
            return ValueTask.FromResult<Action<Utf8JsonWriter>>(w =>
            {
                w.WriteStartObject();
                w.WriteStartArray("offsets_row");
                foreach (var entry in matrix.Entries)
                    w.WriteNumberValue(entry.Row);
                w.WriteEndArray();
                w.WriteStartArray("offsets_col");
                foreach (var entry in matrix.Entries)
                    w.WriteNumberValue(entry.Column);
                w.WriteEndArray();
                w.WriteStartArray("scores");
                foreach (var entry in matrix.Entries)
                    w.WriteNumberValue(entry.Score);
                w.WriteEndArray();
                w.WriteStartArray("ids");
                foreach (var id in matrix.Ids)
                    id.WriteTo(w);
                w.WriteEndArray();
                w.WriteEndObject();
            });
        }));

        app.MapPost("/collections/{name}/points/query/batch", (HttpContext http, string name) => RestHandler.RunAsync(http, true, async req =>
        {
            var cancellation = req.Cancellation;
            var collection = catalog.ForRead(http, name);
            var documents = await inference.ResolveAsync(req.Body, Inference.DocumentRole.Query, req.Cancellation).ConfigureAwait(false);
            var searches = RestReader.Required(req.Body, "searches", string.Empty);
            if (searches.ValueKind != JsonValueKind.Array)
                throw QuiverException.BadInput("Format error in JSON body: searches: expected an array");
            var results = new List<IReadOnlyList<ScoredRecord>>();
            var i = 0;
            foreach (var search in searches.EnumerateArray())
                results.Add(Run(collection, search, $"searches[{i++}].", cancellation, documents));
            var unnamed = collection.Config.HasUnnamedVector;
            return (Action<Utf8JsonWriter>)(w =>
            {
                w.WriteStartArray();
                foreach (var r in results)
                    RestWriter.ScoredList(w, r, unnamed);
                w.WriteEndArray();
            });
        }));
    }

    /// <summary>A <c>SearchMatrixRequest</c>: filter, sample (default 10), limit (default 3), using.</summary>
    private static SearchMatrix ReadMatrix(Collection collection, JsonElement body, CancellationToken cancellationToken)
    {
        if (body.ValueKind != JsonValueKind.Object)
            throw QuiverException.BadInput("Format error in JSON body: expected an object");
        var sample = RestReader.Int(body, "sample", 10, 2, Collection.MaxMatrixSample);
        var limit = RestReader.Int(body, "limit", 3, 1, Collection.MaxLimit);
        var usingName = RestReader.TryGet(body, "using", out var u) ? RestReader.String(u, "using") : string.Empty;
        return collection.Matrix(RestReader.OptionalFilter(body)?.Parsed, sample, limit, usingName, cancellationToken);
    }

    /// <summary><c>points/query/groups</c>: the query's results grouped by a payload key, each group optionally looked up by its value as a point id in another collection.</summary>
    private static Action<Utf8JsonWriter> RunGroups(
        CollectionCatalog catalog, Collection collection, JsonElement body, Inference.DocumentVectors? documents, Security.AccessGrant? grant, CancellationToken cancellationToken)
    {
        if (body.ValueKind != JsonValueKind.Object)
            throw QuiverException.BadInput("Format error in JSON body: expected an object");
        var groupBy = RestReader.String(RestReader.Required(body, "group_by", string.Empty), "group_by");
        var groupSize = RestReader.Int(body, "group_size", 3, 1, Collection.MaxLimit);
        var withPayload = RestReader.WithPayload(body, false);
        var withVector = RestReader.WithVector(body, false);
        var stage = ReadStage(body, string.Empty, 0, documents);

        Collection? lookup = null;
        var lookupPayload = WithPayload.All;
        var lookupVector = WithVector.None;
        if (RestReader.TryGet(body, "with_lookup", out var withLookup))
        {
            string lookupName;
            if (withLookup.ValueKind == JsonValueKind.String)
            {
                lookupName = withLookup.GetString()!;
            }
            else if (withLookup.ValueKind == JsonValueKind.Object)
            {
                lookupName = RestReader.String(RestReader.Required(withLookup, "collection", "with_lookup"), "with_lookup.collection");
                lookupPayload = RestReader.WithPayload(withLookup, true);
                lookupVector = withLookup.TryGetProperty("with_vectors", out _) ? RestReader.WithVector(withLookup, false, "with_vectors") : WithVector.None;
            }
            else
            {
                throw QuiverException.BadInput("Format error in JSON body: with_lookup: expected a collection name or {collection, with_payload, with_vectors}");
            }

            // The key check saw only the collection in the path; the lookup reads another one. Checked before the
            // collection is opened (a refusal must not tell whether it exists) and before the query runs.
            if (grant is not null && !grant.CanRead(catalog.TryGet(lookupName)?.Name ?? lookupName))
                throw new QuiverException(QuiverError.Forbidden($"Forbidden: no access to `{lookupName}` for with_lookup"));
            lookup = catalog.Get(lookupName);
        }

        var groups = collection.QueryGroups(stage, groupBy, groupSize, withPayload, withVector, cancellationToken);

        // A group's value names a point of the lookup collection when it is a valid point id (an integer or a UUID).
        var looked = new Dictionary<int, PointRecord>();
        if (lookup is not null)
        {
            var ids = new List<(int Group, PointId Id)>();
            for (var g = 0; g < groups.Count; g++)
            {
                var id = groups[g].Id;
                if (id.ValueKind == JsonValueKind.Number && id.TryGetUInt64(out var n))
                    ids.Add((g, PointId.FromNumber(n)));
                else if (id.ValueKind == JsonValueKind.String && Guid.TryParse(id.GetString(), out var uuid))
                    ids.Add((g, PointId.FromUuid(uuid)));
            }

            var records = lookup.Get([.. ids.Select(x => x.Id)], lookupPayload, lookupVector).ToDictionary(r => r.Id);
            foreach (var (g, id) in ids)
            {
                if (records.TryGetValue(id, out var record))
                    looked[g] = record;
            }
        }

        var unnamed = collection.Config.HasUnnamedVector;
        var lookupUnnamed = lookup?.Config.HasUnnamedVector ?? false;
        return w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("groups");
            for (var g = 0; g < groups.Count; g++)
            {
                w.WriteStartObject();
                w.WritePropertyName("id");
                groups[g].Id.WriteTo(w);
                w.WriteStartArray("hits");
                foreach (var hit in groups[g].Hits)
                    RestWriter.Scored(w, hit, unnamed);
                w.WriteEndArray();
                if (lookup is not null)
                {
                    w.WritePropertyName("lookup");
                    if (looked.TryGetValue(g, out var record))
                        RestWriter.Record(w, record, lookupUnnamed);
                    else
                        w.WriteNullValue();
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        };
    }

    internal static IReadOnlyList<ScoredRecord> Run(Collection collection, JsonElement body, string path, CancellationToken cancellationToken, Inference.DocumentVectors? documents = null)
    {
        if (body.ValueKind != JsonValueKind.Object)
            throw QuiverException.BadInput($"Format error in JSON body: {path.TrimEnd('.')}: expected an object");
        try
        {
            var offset = RestReader.Int(body, "offset", 0, 0, Collection.MaxLimit);
            var withPayload = RestReader.WithPayload(body, false);
            var withVector = RestReader.WithVector(body, false);
            var stage = ReadStage(body, string.Empty, 0, documents);

            // Without prefetches or a query, points come in id order with score 0, like a scroll.
            if (stage.Prefetch.Count == 0 && stage.Query is null)
                return ScrollAsQuery(collection, stage.Filter, stage.Limit, offset, withPayload, withVector);
            return collection.Query(stage, offset, withPayload, withVector, cancellationToken);
        }
        catch (QuiverException ex) when (path.Length > 0)
        {
            throw new QuiverException(ex.Error with { Message = $"{path}{ex.Message}" });
        }
    }

    /// <summary>
    /// A query request or one of its prefetches (at <paramref name="path"/>): prefetch (one or a list, nested),
    /// query, using, filter, params, score_threshold and limit.
    /// </summary>
    private static QueryStage ReadStage(JsonElement body, string path, int depth, Inference.DocumentVectors? documents)
    {
        if (body.ValueKind != JsonValueKind.Object)
            throw QuiverException.BadInput($"Format error in JSON body: {path.TrimEnd('.')}: expected an object");
        if (depth > Collection.MaxQueryDepth)
            throw QuiverException.BadInput($"{path}prefetch: nested more than {Collection.MaxQueryDepth} deep");
        if (RestReader.TryGet(body, "lookup_from", out _))
            throw QuiverException.BadInput($"{path}lookup_from: not supported yet");

        var prefetch = new List<QueryStage>();
        if (RestReader.TryGet(body, "prefetch", out var prefetches))
        {
            if (prefetches.ValueKind == JsonValueKind.Array)
            {
                var i = 0;
                foreach (var item in prefetches.EnumerateArray())
                    prefetch.Add(ReadStage(item, $"{path}prefetch[{i++}].", depth + 1, documents));
            }
            else
            {
                prefetch.Add(ReadStage(prefetches, $"{path}prefetch.", depth + 1, documents));
            }
        }

        // A prefetch must find something (Qdrant's minimum is 1); the request itself may ask for 0 as before.
        var limit = RestReader.Int(body, "limit", 10, depth == 0 ? 0 : 1, Collection.MaxLimit, path.TrimEnd('.'));
        var filter = RestReader.OptionalFilter(body)?.Parsed;
        var exact = false;
        var indexedOnly = false;
        int? hnswEf = null;
        QuantizationSearch quantization = default;
        if (RestReader.TryGet(body, "params", out var searchParams))
        {
            quantization = RestReader.Quantization(searchParams, $"{path}params");
            exact = RestReader.Bool(searchParams, "exact", false, $"{path}params");
            indexedOnly = RestReader.Bool(searchParams, "indexed_only", false, $"{path}params");
            if (RestReader.TryGet(searchParams, "hnsw_ef", out _, $"{path}params"))
                hnswEf = RestReader.Int(searchParams, "hnsw_ef", 0, 1, 1_000_000, $"{path}params");
        }

        float? threshold = null;
        if (RestReader.TryGet(body, "score_threshold", out var t))
        {
            threshold = t.ValueKind == JsonValueKind.Number
                ? t.GetSingle()
                : throw QuiverException.BadInput($"Format error in JSON body: {path}score_threshold: expected a number");
        }

        var usingName = RestReader.TryGet(body, "using", out var u) ? RestReader.String(u, $"{path}using") : string.Empty;
        var query = RestReader.TryGet(body, "query", out var q) ? ReadStageQuery(q, $"{path}query", documents) : null;
        if (query is FusionStage && prefetch.Count == 0)
            throw QuiverException.BadInput($"{path}query: fusion combines prefetches, and this request has none");
        if (query is FusionStage && usingName.Length > 0)
            throw QuiverException.BadInput($"{path}using: a fusion combines prefetches' scores and searches no vector; set using on the prefetches");
        return new QueryStage(prefetch, query, usingName, filter, limit, threshold, exact, hnswEf, indexedOnly, quantization);
    }

    /// <summary>A stage's query: nearest (a vector, a point id, or <c>{"nearest": ...}</c>), <c>{"fusion": "rrf" | "dbsf"}</c> or <c>{"rrf": {k, weights}}</c>.</summary>
    private static StageQuery ReadStageQuery(JsonElement query, string path, Inference.DocumentVectors? documents)
    {
        if (query.ValueKind == JsonValueKind.Object && RestReader.TryGet(query, "fusion", out var fusion))
        {
            return fusion.ValueKind == JsonValueKind.String && fusion.GetString() is "rrf" or "dbsf"
                ? new FusionStage(fusion.GetString() == "rrf" ? FusionKind.Rrf : FusionKind.Dbsf)
                : throw QuiverException.BadInput($"Format error in JSON body: {path}.fusion: expected rrf or dbsf");
        }

        if (query.ValueKind == JsonValueKind.Object && RestReader.TryGet(query, "rrf", out var rrf))
        {
            if (rrf.ValueKind != JsonValueKind.Object)
                throw QuiverException.BadInput($"Format error in JSON body: {path}.rrf: expected an object with k and weights");
            var k = RestReader.Int(rrf, "k", Fusion.DefaultRrfK, 1, 1_000_000, $"{path}.rrf");
            List<float>? weights = null;
            if (RestReader.TryGet(rrf, "weights", out var w))
            {
                if (w.ValueKind != JsonValueKind.Array)
                    throw QuiverException.BadInput($"Format error in JSON body: {path}.rrf.weights: expected an array of numbers");
                weights = [.. w.EnumerateArray().Select((x, i) => x.ValueKind == JsonValueKind.Number ? x.GetSingle() : throw QuiverException.BadInput($"Format error in JSON body: {path}.rrf.weights[{i}]: expected a number"))];
            }

            return new FusionStage(FusionKind.Rrf, k, weights);
        }

        if (query.ValueKind == JsonValueKind.Object && RestReader.TryGet(query, "sample", out var sample))
        {
            return sample.ValueKind == JsonValueKind.String && sample.GetString() == "random"
                ? new SampleStage()
                : throw QuiverException.BadInput($"Format error in JSON body: {path}.sample: expected random");
        }

        if (query.ValueKind == JsonValueKind.Object && RestReader.TryGet(query, "recommend", out var recommend))
        {
            if (recommend.ValueKind != JsonValueKind.Object)
                throw QuiverException.BadInput($"Format error in JSON body: {path}.recommend: expected an object with positive, negative and strategy");
            var strategy = RecommendStrategy.AverageVector;
            if (RestReader.TryGet(recommend, "strategy", out var named))
            {
                strategy = named.ValueKind == JsonValueKind.String ? named.GetString() switch
                {
                    "average_vector" => RecommendStrategy.AverageVector,
                    "best_score" => RecommendStrategy.BestScore,
                    "sum_scores" => RecommendStrategy.SumScores,
                    _ => throw QuiverException.BadInput($"Format error in JSON body: {path}.recommend.strategy: expected average_vector, best_score or sum_scores"),
                } : throw QuiverException.BadInput($"Format error in JSON body: {path}.recommend.strategy: expected average_vector, best_score or sum_scores");
            }

            return new RecommendStage(Examples(recommend, "positive", $"{path}.recommend", documents), Examples(recommend, "negative", $"{path}.recommend", documents), strategy);
        }

        if (query.ValueKind == JsonValueKind.Object && RestReader.TryGet(query, "discover", out var discover))
        {
            if (discover.ValueKind != JsonValueKind.Object)
                throw QuiverException.BadInput($"Format error in JSON body: {path}.discover: expected an object with target and context");
            var target = ReadNearest(RestReader.Required(discover, "target", $"{path}.discover"), documents);
            return new DiscoverStage(target, Pairs(discover.TryGetProperty("context", out var c) ? c : default, $"{path}.discover.context", documents));
        }

        if (query.ValueKind == JsonValueKind.Object && RestReader.TryGet(query, "formula", out var formula))
        {
            var conditions = new List<Segment.Filtering.Condition>();
            var root = Formula.Parse(formula, $"{path}.formula", conditions);
            var defaults = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            if (RestReader.TryGet(query, "defaults", out var given))
            {
                if (given.ValueKind != JsonValueKind.Object)
                    throw QuiverException.BadInput($"Format error in JSON body: {path}.defaults: expected an object of variable values");
                foreach (var d in given.EnumerateObject())
                    defaults[d.Name] = d.Value.Clone();
            }

            return new FormulaStage(root, conditions, defaults);
        }

        if (query.ValueKind == JsonValueKind.Object && RestReader.TryGet(query, "context", out var context))
            return new ContextStage(Pairs(context, $"{path}.context", documents));
        if (query.ValueKind == JsonValueKind.Object && query.TryGetProperty("order_by", out _))
            return new OrderByStage(PointEndpoints.ReadOrderBy(query)!);

        if (query.ValueKind == JsonValueKind.Object && RestReader.TryGet(query, "nearest", out var nearest) && RestReader.TryGet(query, "mmr", out var mmr))
        {
            if (mmr.ValueKind != JsonValueKind.Object)
                throw QuiverException.BadInput($"Format error in JSON body: {path}.mmr: expected an object with diversity and candidates_limit");
            var diversity = 0.5f;
            if (RestReader.TryGet(mmr, "diversity", out var d))
            {
                diversity = d.ValueKind == JsonValueKind.Number && d.GetSingle() is >= 0 and <= 1 and var value
                    ? value
                    : throw QuiverException.BadInput($"Format error in JSON body: {path}.mmr.diversity: expected a number from 0 to 1");
            }

            int? candidates = RestReader.TryGet(mmr, "candidates_limit", out _)
                ? RestReader.Int(mmr, "candidates_limit", 0, 0, Collection.MaxMmrCandidates, $"{path}.mmr")
                : null;
            return new NearestStage(ReadNearest(nearest, documents), new Mmr(diversity, candidates));
        }

        return new NearestStage(ReadNearest(query, documents));
    }

    /// <summary>Context pairs: one <c>{positive, negative}</c> or a list of them; null or absent is none.</summary>
    private static List<ContextPair> Pairs(JsonElement value, string path, Inference.DocumentVectors? documents)
    {
        if (value.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
            return [];
        var items = value.ValueKind == JsonValueKind.Array ? [.. value.EnumerateArray()] : new List<JsonElement> { value };
        var pairs = new List<ContextPair>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            var at = value.ValueKind == JsonValueKind.Array ? $"{path}[{i}]" : path;
            if (items[i].ValueKind != JsonValueKind.Object)
                throw QuiverException.BadInput($"Format error in JSON body: {at}: expected an object with positive and negative");
            pairs.Add(new ContextPair(
                ReadNearest(RestReader.Required(items[i], "positive", at), documents),
                ReadNearest(RestReader.Required(items[i], "negative", at), documents)));
        }

        return pairs;
    }

    /// <summary>Recommendation examples: vectors or point ids.</summary>
    private static List<NearestQuery> Examples(JsonElement recommend, string name, string path, Inference.DocumentVectors? documents)
    {
        if (!RestReader.TryGet(recommend, name, out var list))
            return [];
        if (list.ValueKind != JsonValueKind.Array)
            throw QuiverException.BadInput($"Format error in JSON body: {path}.{name}: expected an array of vectors or point ids");
        var examples = new List<NearestQuery>();
        foreach (var example in list.EnumerateArray())
        {
            if (example.ValueKind is not (JsonValueKind.Array or JsonValueKind.Number or JsonValueKind.String))
                throw QuiverException.BadInput($"Format error in JSON body: {path}.{name}[{examples.Count}]: expected a vector or a point id");
            examples.Add(ReadNearest(example, documents));
        }

        return examples;
    }

    /// <summary><c>query</c>: a vector, a point id, or <c>{"nearest": vector | id}</c>.</summary>
    private static NearestQuery ReadNearest(JsonElement query, Inference.DocumentVectors? documents)
    {
        switch (query.ValueKind)
        {
            case JsonValueKind.Array:
                if (query.GetArrayLength() > 0 && query[0].ValueKind == JsonValueKind.Array)
                    return new NearestQuery(null, null, null, PointJson.Multi(query, "query"));
                return new NearestQuery(PointJson.Dense(query, "query"), null);
            case JsonValueKind.Number:
            case JsonValueKind.String:
                return new NearestQuery(null, PointId.FromJson(query, "query"));
            case JsonValueKind.Object:
                if (RestReader.TryGet(query, "nearest", out var nearest))
                {
                    if (RestReader.TryGet(query, "mmr", out _))
                        throw QuiverException.BadInput("query.mmr: not supported yet");
                    return ReadNearest(nearest, documents);
                }

                if (query.TryGetProperty("indices", out _) || query.TryGetProperty("values", out _))
                    return new NearestQuery(null, null, PointJson.Sparse(query, "query"));
                if (documents is not null && Inference.DocumentVectors.IsDocument(query))
                    return documents.Query(query, "query");
                if (query.TryGetProperty("text", out _))
                    throw QuiverException.BadInput("Wrong input: query: a document needs a string `text` and needs a `model` naming the model that embeds it");
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
