using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf.Reflection;
using Grpc.AspNetCore.Server.Model;
using Qdrant.Client.Grpc;
using Quiver.Engine.Collections;
using Quiver.Server.Rest;

namespace Quiver.Server.Grpc;

internal sealed partial class GrpcHandlers
{
    private void AddQueries(Dictionary<string, Action<ServiceMethodProviderContext<QdrantGrpcService>, MethodDescriptor>> handlers)
    {
        handlers["qdrant.Points/Get"] = Bind<GetPoints, GetResponse>((r, _) =>
        {
            var started = Stopwatch.GetTimestamp();
            var collection = catalog.Get(r.CollectionName);
            var json = new JsonObject { ["ids"] = GrpcRequests.Ids(r.Ids) };
            GrpcRequests.SearchCommon(json, null, null, null, null, null, r.WithPayload, r.WithVectors);
            using var body = GrpcCalls.Body(json);
            var records = collection.Get(Rest.RestReader.Ids(body.RootElement.GetProperty("ids"), "ids"), RestReader.WithPayload(body.RootElement, true), RestReader.WithVector(body.RootElement, false));
            var response = new GetResponse { Time = GrpcCalls.Seconds(started) };
            var unnamed = collection.Config.HasUnnamedVector;
            response.Result.Add(records.Select(p => GrpcResponses.Retrieved(p, unnamed)));
            return Task.FromResult(response);
        });
        handlers["qdrant.Points/Scroll"] = Bind<ScrollPoints, ScrollResponse>((r, _) =>
        {
            var started = Stopwatch.GetTimestamp();
            var collection = catalog.Get(r.CollectionName);
            var json = new JsonObject();
            GrpcRequests.SearchCommon(json, r.Filter, null, null, r.HasLimit ? r.Limit : null, null, r.WithPayload, r.WithVectors);
            if (r.Offset is { } offset)
                json["offset"] = GrpcRequests.Id(offset);
            if (r.OrderBy is { } orderBy)
                json["order_by"] = OrderBy(orderBy);
            using var body = GrpcCalls.Body(json);
            var result = collection.Scroll(PointEndpoints.ReadScroll(body.RootElement));
            var response = new ScrollResponse { Time = GrpcCalls.Seconds(started) };
            var unnamed = collection.Config.HasUnnamedVector;
            response.Result.Add(result.Points.Select(p => GrpcResponses.Retrieved(p, unnamed)));
            if (result.NextPageOffset is { } next)
                response.NextPageOffset = GrpcResponses.Id(next);
            return Task.FromResult(response);
        });
        handlers["qdrant.Points/Count"] = Bind<CountPoints, CountResponse>((r, _) =>
        {
            var started = Stopwatch.GetTimestamp();
            var collection = catalog.Get(r.CollectionName);
            var json = new JsonObject();
            GrpcRequests.SearchCommon(json, r.Filter, null, null, null, null, null, null);
            using var body = GrpcCalls.Body(json);
            var count = collection.Count(RestReader.OptionalFilter(body.RootElement)?.Parsed);
            return Task.FromResult(new CountResponse { Result = new CountResult { Count = (ulong)count }, Time = GrpcCalls.Seconds(started) });
        });
        handlers["qdrant.Points/Facet"] = Bind<FacetCounts, FacetResponse>((r, _) =>
        {
            var started = Stopwatch.GetTimestamp();
            var collection = catalog.Get(r.CollectionName);
            var json = new JsonObject();
            GrpcRequests.SearchCommon(json, r.Filter, null, null, null, null, null, null);
            using var body = GrpcCalls.Body(json);
            var limit = r.HasLimit ? RestReader.InRange((long)Math.Min(r.Limit, long.MaxValue), "limit", 1, Collection.MaxLimit) : 10;
            var response = new FacetResponse();
            foreach (var hit in collection.Facet(r.Key, RestReader.OptionalFilter(body.RootElement)?.Parsed, limit))
            {
                var value = hit.Value switch
                {
                    string text => new FacetValue { StringValue = text },
                    long number => new FacetValue { IntegerValue = number },
                    bool flag => new FacetValue { BoolValue = flag },
                    _ => throw new InvalidOperationException($"facet value of type {hit.Value.GetType().Name}"),
                };
                response.Hits.Add(new Qdrant.Client.Grpc.FacetHit { Value = value, Count = (ulong)hit.Count });
            }

            response.Time = GrpcCalls.Seconds(started);
            return Task.FromResult(response);
        });
        handlers["qdrant.Points/Search"] = Bind<SearchPoints, SearchResponse>((r, call) =>
        {
            var started = Stopwatch.GetTimestamp();
            var collection = catalog.Get(r.CollectionName);
            using var cancellation = GrpcCalls.Cancellation(call, r.HasTimeout ? r.Timeout : null);
            var response = new SearchResponse();
            response.Result.Add(Run(collection, r, cancellation.Token));
            response.Time = GrpcCalls.Seconds(started);
            return Task.FromResult(response);
        });
        handlers["qdrant.Points/SearchBatch"] = Bind<SearchBatchPoints, SearchBatchResponse>((r, call) =>
        {
            var started = Stopwatch.GetTimestamp();
            var collection = catalog.Get(r.CollectionName);
            using var cancellation = GrpcCalls.Cancellation(call, r.HasTimeout ? r.Timeout : null);
            var response = new SearchBatchResponse();
            response.Result.Add(Batches(r.SearchPoints, search => Run(collection, search, cancellation.Token)));
            response.Time = GrpcCalls.Seconds(started);
            return Task.FromResult(response);
        });
        handlers["qdrant.Points/Query"] = Bind<QueryPoints, QueryResponse>(async (r, call) =>
        {
            var started = Stopwatch.GetTimestamp();
            var collection = catalog.Get(r.CollectionName);
            using var cancellation = GrpcCalls.Cancellation(call, r.HasTimeout ? r.Timeout : null);
            var response = new QueryResponse();
            response.Result.Add(await RunAsync(collection, r, cancellation.Token).ConfigureAwait(false));
            response.Time = GrpcCalls.Seconds(started);
            return response;
        });
        handlers["qdrant.Points/QueryBatch"] = Bind<QueryBatchPoints, QueryBatchResponse>(async (r, call) =>
        {
            var started = Stopwatch.GetTimestamp();
            var collection = catalog.Get(r.CollectionName);
            using var cancellation = GrpcCalls.Cancellation(call, r.HasTimeout ? r.Timeout : null);
            var response = new QueryBatchResponse();
            foreach (var query in r.QueryPoints)
            {
                var batch = new BatchResult();
                batch.Result.Add(await RunAsync(collection, query, cancellation.Token).ConfigureAwait(false));
                response.Result.Add(batch);
            }

            response.Time = GrpcCalls.Seconds(started);
            return response;
        });
    }

    private static List<BatchResult> Batches<T>(IEnumerable<T> requests, Func<T, IEnumerable<ScoredPoint>> run)
    {
        var batches = new List<BatchResult>();
        foreach (var request in requests)
        {
            var batch = new BatchResult();
            batch.Result.Add(run(request));
            batches.Add(batch);
        }

        return batches;
    }

    /// <summary>
    /// The common nearest-neighbour query, read straight from the message (the vector is not turned into JSON and
    /// back), with the REST reader's bounds and messages; a filter still goes through the REST filter reader.
    /// </summary>
    private static IEnumerable<ScoredPoint> Direct(Collection collection, Engine.Query.NearestQuery nearest, string usingName, Filter? filter, SearchParams? parameters,
        float? threshold, ulong limit, ulong offset, WithPayloadSelector? withPayload, WithVectorsSelector? withVectors, CancellationToken cancellationToken)
    {
        Segment.Filtering.Filter? parsed = null;
        JsonDocument? filterBody = null;
        try
        {
            if (filter is not null)
            {
                filterBody = GrpcCalls.Body(new JsonObject { ["filter"] = GrpcRequests.Filter(filter) });
                parsed = RestReader.OptionalFilter(filterBody.RootElement)?.Parsed;
            }

            var request = new Engine.Query.SearchRequest(
                nearest,
                usingName,
                parsed,
                RestReader.InRange((long)Math.Min(limit, int.MaxValue), "limit", 0, Collection.MaxLimit),
                RestReader.InRange((long)Math.Min(offset, int.MaxValue), "offset", 0, Collection.MaxLimit),
                threshold is { } t && !float.IsFinite(t) ? throw Segment.Errors.QuiverException.BadInput("Format error in JSON body: score_threshold: expected a number") : threshold,
                withPayload is null ? Engine.Query.WithPayload.None : Payload(withPayload),
                withVectors is null ? Engine.Query.WithVector.None : Vectors(withVectors),
                parameters is { HasExact: true, Exact: true },
                parameters is { HasHnswEf: true } ? RestReader.InRange((long)Math.Min(parameters.HnswEf, int.MaxValue), "params.hnsw_ef", 1, 1_000_000) : null,
                parameters is { HasIndexedOnly: true, IndexedOnly: true },
                Quantization(parameters?.Quantization));
            var unnamed = collection.Config.HasUnnamedVector;
            var found = collection.Search(request, cancellationToken);
            var points = new ScoredPoint[found.Count];
            for (var i = 0; i < points.Length; i++)
                points[i] = GrpcResponses.Scored(found[i], unnamed);
            return points;
        }
        finally
        {
            filterBody?.Dispose();
        }
    }

    /// <summary>The search params' quantization, checked as REST checks it.</summary>
    private static Segment.Segments.QuantizationSearch Quantization(QuantizationSearchParams? quantization) => quantization is null
        ? default
        : new Segment.Segments.QuantizationSearch(
            quantization is { HasIgnore: true, Ignore: true },
            quantization.HasRescore ? quantization.Rescore : null,
            quantization.HasOversampling ? RestReader.CheckOversampling(quantization.Oversampling, "params.quantization.oversampling") : 0);

    private static Engine.Query.WithPayload Payload(WithPayloadSelector selector) => selector.SelectorOptionsCase switch
    {
        WithPayloadSelector.SelectorOptionsOneofCase.Enable => selector.Enable ? Engine.Query.WithPayload.All : Engine.Query.WithPayload.None,
        WithPayloadSelector.SelectorOptionsOneofCase.Include => new Engine.Query.WithPayload(true, [.. selector.Include.Fields]),
        WithPayloadSelector.SelectorOptionsOneofCase.Exclude => new Engine.Query.WithPayload(true, Exclude: [.. selector.Exclude.Fields]),
        _ => Engine.Query.WithPayload.None,
    };

    private static Engine.Query.WithVector Vectors(WithVectorsSelector selector) => selector.SelectorOptionsCase switch
    {
        WithVectorsSelector.SelectorOptionsOneofCase.Enable => selector.Enable ? Engine.Query.WithVector.All : Engine.Query.WithVector.None,
        WithVectorsSelector.SelectorOptionsOneofCase.Include => new Engine.Query.WithVector(true, [.. selector.Include.Names]),
        _ => Engine.Query.WithVector.None,
    };

    private async Task<IEnumerable<ScoredPoint>> RunAsync(Collection collection, QueryPoints query, CancellationToken cancellationToken)
    {
        if (query.Prefetch.Count == 0 && query.LookupFrom is null && query.Query?.VariantCase == Qdrant.Client.Grpc.Query.VariantOneofCase.Nearest
            && query.Query.Nearest.VariantCase == VectorInput.VariantOneofCase.Dense)
        {
            var nearest = new Engine.Query.NearestQuery(query.Query.Nearest.Dense.Data.ToArray(), null);
            return Direct(collection, nearest, query.HasUsing ? query.Using : string.Empty, query.Filter, query.Params, query.HasScoreThreshold ? query.ScoreThreshold : null,
                query.HasLimit ? query.Limit : 10, query.HasOffset ? query.Offset : 0, query.WithPayload, query.WithVectors, cancellationToken);
        }

        // Documents in the query are embedded first, as over REST.
        using var body = GrpcCalls.Body(Query(query));
        var documents = inference is null ? null : await inference.ResolveAsync(body.RootElement, Inference.DocumentRole.Query, cancellationToken).ConfigureAwait(false);
        var unnamed = collection.Config.HasUnnamedVector;
        return [.. QueryEndpoints.Run(collection, body.RootElement, string.Empty, cancellationToken, documents).Select(p => GrpcResponses.Scored(p, unnamed))];
    }

    private static IEnumerable<ScoredPoint> Run(Collection collection, SearchPoints search, CancellationToken cancellationToken)
    {
        if (search.SparseIndices is not null)
            throw Segment.Errors.QuiverException.BadInput("Wrong input: sparse vectors are not supported yet");
        return Direct(collection, new Engine.Query.NearestQuery(search.Vector.ToArray(), null), search.HasVectorName ? search.VectorName : string.Empty, search.Filter, search.Params,
            search.HasScoreThreshold ? search.ScoreThreshold : null, search.Limit, search.HasOffset ? search.Offset : 0, search.WithPayload, search.WithVectors, cancellationToken);
    }

    private static JsonObject Query(QueryPoints query)
    {
        var json = new JsonObject();
        if (query.Query is { } q)
            json["query"] = GrpcRequests.Query(q);
        if (query.HasUsing)
            json["using"] = query.Using;
        if (query.Prefetch.Count > 0)
            json["prefetch"] = new JsonArray([.. query.Prefetch.Select(p => (JsonNode)GrpcRequests.Prefetch(p))]);
        // Refused by the shared reader exactly as over REST.
        if (query.LookupFrom is not null)
            json["lookup_from"] = new JsonObject();
        GrpcRequests.SearchCommon(json, query.Filter, query.Params, query.HasScoreThreshold ? query.ScoreThreshold : null, query.HasLimit ? query.Limit : null, query.HasOffset ? query.Offset : null, query.WithPayload, query.WithVectors);
        return json;
    }

    internal static JsonObject OrderBy(Qdrant.Client.Grpc.OrderBy orderBy)
    {
        var json = new JsonObject { ["key"] = orderBy.Key };
        if (orderBy.HasDirection)
            json["direction"] = orderBy.Direction == Direction.Desc ? "desc" : "asc";
        if (orderBy.StartFrom is { } start)
        {
            json["start_from"] = start.ValueCase switch
            {
                StartFrom.ValueOneofCase.Float => double.IsFinite(start.Float) ? JsonValue.Create(start.Float) : throw Segment.Errors.QuiverException.BadInput("Wrong input: order_by.start_from: NaN and infinite numbers are not accepted"),
                StartFrom.ValueOneofCase.Integer => JsonValue.Create(start.Integer),
                StartFrom.ValueOneofCase.Datetime => JsonValue.Create(start.Datetime),
                StartFrom.ValueOneofCase.Timestamp => JsonValue.Create(GrpcRequests.Timestamp(start.Timestamp, "order_by.start_from")),
                _ => null,
            };
        }

        return json;
    }
}
