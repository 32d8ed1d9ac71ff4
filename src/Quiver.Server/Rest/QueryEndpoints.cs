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
    public static void MapQueryEndpoints(this IEndpointRouteBuilder app, CollectionCatalog catalog, Inference.DocumentInference inference)
    {
        app.MapPost("/collections/{name}/points/query", (HttpContext http, string name) => RestHandler.RunAsync(http, true, async req =>
        {
            var collection = catalog.Get(name);
            var documents = await inference.ResolveAsync(req.Body, Inference.DocumentRole.Query, req.Cancellation).ConfigureAwait(false);
            var result = Run(collection, req.Body, string.Empty, req.Cancellation, documents);
            var unnamed = collection.Config.HasUnnamedVector;
            return (Action<Utf8JsonWriter>)(w => RestWriter.ScoredList(w, result, unnamed));
        }));

        app.MapPost("/collections/{name}/points/query/batch", (HttpContext http, string name) => RestHandler.RunAsync(http, true, async req =>
        {
            var cancellation = req.Cancellation;
            var collection = catalog.Get(name);
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
                    return ReadNearest(nearest, documents);
                }

                if (query.TryGetProperty("indices", out _) || query.TryGetProperty("values", out _))
                    return new NearestQuery(null, null, PointJson.Sparse(query, "query"));
                if (documents is not null && Inference.DocumentVectors.IsDocument(query))
                    return documents.Query(query, "query");
                if (query.TryGetProperty("text", out _))
                    throw QuiverException.BadInput("query: a document needs a string `text` and a `model`");
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
