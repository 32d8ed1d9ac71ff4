using System.Globalization;
using System.Text.Json.Nodes;
using Qdrant.Client.Grpc;
using Quiver.Segment.Errors;

namespace Quiver.Server.Grpc;

/// <summary>
/// Qdrant's gRPC request messages as the REST request bodies they mean, so both transports go through the same
/// readers and validation (one behaviour, two wire formats).
/// </summary>
internal static class GrpcRequests
{
    public static JsonObject CreateCollection(CreateCollection request)
    {
        var body = new JsonObject();
        if (request.VectorsConfig is { } vectors)
            body["vectors"] = VectorsConfig(vectors);
        if (request.HnswConfig is { } hnsw)
            body["hnsw_config"] = ProtoJson.Settings(hnsw);
        if (request.WalConfig is { } wal)
            body["wal_config"] = ProtoJson.Settings(wal);
        if (request.OptimizersConfig is { } optimizers)
            body["optimizers_config"] = Optimizers(optimizers);
        if (request.QuantizationConfig is { } quantization)
            body["quantization_config"] = ProtoJson.Settings(quantization);
        if (request.HasShardNumber)
            body["shard_number"] = request.ShardNumber;
#pragma warning disable CS0612 // deprecated on the wire (payload storage moved), still sent
        if (request.HasOnDiskPayload)
            body["on_disk_payload"] = request.OnDiskPayload;
#pragma warning restore CS0612
        if (request.HasReplicationFactor)
            body["replication_factor"] = request.ReplicationFactor;
        if (request.HasWriteConsistencyFactor)
            body["write_consistency_factor"] = request.WriteConsistencyFactor;
        if (request.SparseVectorsConfig is { Map.Count: > 0 } sparse)
        {
            var spaces = new JsonObject();
            foreach (var (name, parameters) in sparse.Map)
            {
                var space = new JsonObject();
                if (parameters.HasModifier)
                    space["modifier"] = parameters.Modifier == Modifier.Idf ? "idf" : "none";
                if (parameters.Index is { } index)
                    space["index"] = ProtoJson.Settings(index);
                spaces[name] = space;
            }

            body["sparse_vectors"] = spaces;
        }
        if (request.Metadata.Count > 0)
            body["metadata"] = ProtoJson.FromPayload(request.Metadata);
        return body;
    }

    public static JsonObject UpdateCollection(UpdateCollection request)
    {
        var body = new JsonObject();
        if (request.OptimizersConfig is { } optimizers)
            body["optimizers_config"] = Optimizers(optimizers);
        if (request.HnswConfig is { } hnsw)
            body["hnsw_config"] = ProtoJson.Settings(hnsw);
        if (request.Params is { } parameters)
            body["params"] = ProtoJson.Settings(parameters);
        if (request.VectorsConfig is { } vectors)
        {
            var map = new JsonObject();
            foreach (var (name, diff) in vectors.ParamsMap?.Map ?? [])
                map[name] = VectorDiff(diff);
            if (vectors.Params is { } single)
                map[string.Empty] = VectorDiff(single);
            body["vectors"] = map;
        }

        if (request.QuantizationConfig is { } quantization)
            body["quantization_config"] = quantization.Disabled is not null ? "Disabled" : ProtoJson.Settings(quantization);
        return body;
    }

    /// <summary>A vector's params diff; its quantization oneof's <c>Disabled</c> is REST's string "Disabled".</summary>
    private static JsonObject VectorDiff(VectorParamsDiff diff)
    {
        var json = ProtoJson.Settings(diff);
        if (diff.QuantizationConfig?.Disabled is not null)
            json["quantization_config"] = "Disabled";
        return json;
    }

    private static JsonNode VectorsConfig(VectorsConfig config)
    {
        if (config.Params is { } single)
            return ProtoJson.Settings(single);
        var named = new JsonObject();
        foreach (var (name, parameters) in config.ParamsMap?.Map ?? [])
            named[name] = ProtoJson.Settings(parameters);
        return named;
    }

    /// <summary><c>max_optimization_threads</c> is a oneof on the wire (a number or <c>auto</c>) and a plain value in REST.</summary>
    private static JsonObject Optimizers(OptimizersConfigDiff optimizers)
    {
        var json = ProtoJson.Settings(optimizers);
        json.Remove("deprecated_max_optimization_threads");
        if (optimizers.MaxOptimizationThreads is { } threads)
            json["max_optimization_threads"] = threads.HasValue ? JsonValue.Create(threads.Value) : JsonValue.Create("auto");
        return json;
    }

    public static JsonNode Id(PointId id) => id.PointIdOptionsCase switch
    {
        PointId.PointIdOptionsOneofCase.Num => JsonValue.Create(id.Num),
        PointId.PointIdOptionsOneofCase.Uuid => JsonValue.Create(id.Uuid),
        _ => throw QuiverException.BadInput("Wrong input: a point id is empty: set num or uuid"),
    };

    public static JsonArray Ids(IEnumerable<PointId> ids) => [.. ids.Select(Id)];

    /// <summary>A point selector as the REST body fields it stands for: <c>points</c> or <c>filter</c>.</summary>
    public static void Selector(PointsSelector? selector, JsonObject body, string pointsField = "points")
    {
        switch (selector?.PointsSelectorOneOfCase)
        {
            case PointsSelector.PointsSelectorOneOfOneofCase.Points:
                body[pointsField] = Ids(selector.Points.Ids);
                break;
            case PointsSelector.PointsSelectorOneOfOneofCase.Filter:
                body["filter"] = Filter(selector.Filter);
                break;
            default:
                throw QuiverException.BadInput("Wrong input: a points selector is required (ids or a filter)");
        }
    }

    public static JsonNode Vectors(Vectors vectors) => vectors.VectorsOptionsCase switch
    {
        Qdrant.Client.Grpc.Vectors.VectorsOptionsOneofCase.Vector => Dense(vectors.Vector),
        Qdrant.Client.Grpc.Vectors.VectorsOptionsOneofCase.Vectors_ => new JsonObject(vectors.Vectors_.Vectors.Select(v => KeyValuePair.Create(v.Key, (JsonNode?)Dense(v.Value)))),
        _ => throw QuiverException.BadInput("Wrong input: a point has no vectors"),
    };

#pragma warning disable CS0612 // the deprecated `data` and `indices` fields are still what many clients send
    private static JsonNode Dense(Vector vector)
    {
        if (vector.VectorCase == Vector.VectorOneofCase.Sparse)
            return Sparse(vector.Sparse.Indices, vector.Sparse.Values);
        if (vector.VectorCase == Vector.VectorOneofCase.None && vector.Indices is { } indices)
            return Sparse(indices.Data, vector.Data);
        if (vector.VectorCase == Vector.VectorOneofCase.MultiDense)
            return new JsonArray([.. vector.MultiDense.Vectors.Select(v => (JsonNode)Floats(v.Data))]);
        if (vector.VectorCase == Vector.VectorOneofCase.Document)
            return Document(vector.Document);
        if (vector.VectorCase is not (Vector.VectorOneofCase.None or Vector.VectorOneofCase.Dense))
            throw QuiverException.BadInput($"Wrong input: {vector.VectorCase} vectors are not supported yet (dense and sparse vectors are)");
        var values = vector.Dense?.Data ?? vector.Data;
        foreach (var v in values)
        {
            if (!float.IsFinite(v))
                throw QuiverException.BadInput("Wrong input: vector contains NaN or Infinity");
        }

        return new JsonArray([.. values.Select(v => (JsonNode)v)]);
    }
#pragma warning restore CS0612

    private static JsonObject Sparse(IEnumerable<uint> indices, IEnumerable<float> values)
    {
        if (values.Any(v => !float.IsFinite(v)))
            throw QuiverException.BadInput("Wrong input: sparse vector contains NaN or Infinity");
        return new JsonObject
        {
            ["indices"] = new JsonArray([.. indices.Select(i => (JsonNode)i)]),
            ["values"] = new JsonArray([.. values.Select(v => (JsonNode)v)]),
        };
    }

    public static JsonObject Point(PointStruct point)
    {
        var json = new JsonObject
        {
            ["id"] = point.Id is null ? throw QuiverException.BadInput("Wrong input: a point has no id") : Id(point.Id),
            ["vector"] = point.Vectors is null ? null : Vectors(point.Vectors),
        };
        if (point.Payload.Count > 0)
            json["payload"] = ProtoJson.FromPayload(point.Payload);
        return json;
    }

    public static JsonNode WithPayload(WithPayloadSelector selector) => selector.SelectorOptionsCase switch
    {
        WithPayloadSelector.SelectorOptionsOneofCase.Enable => JsonValue.Create(selector.Enable),
        WithPayloadSelector.SelectorOptionsOneofCase.Include => new JsonObject { ["include"] = new JsonArray([.. selector.Include.Fields.Select(f => (JsonNode)f)]) },
        WithPayloadSelector.SelectorOptionsOneofCase.Exclude => new JsonObject { ["exclude"] = new JsonArray([.. selector.Exclude.Fields.Select(f => (JsonNode)f)]) },
        _ => JsonValue.Create(false),
    };

    public static JsonNode WithVectors(WithVectorsSelector selector) => selector.SelectorOptionsCase switch
    {
        WithVectorsSelector.SelectorOptionsOneofCase.Enable => JsonValue.Create(selector.Enable),
        WithVectorsSelector.SelectorOptionsOneofCase.Include => new JsonArray([.. selector.Include.Names.Select(n => (JsonNode)n)]),
        _ => JsonValue.Create(false),
    };

    public static JsonObject Filter(Filter filter)
    {
        var json = new JsonObject();
        if (filter.Must.Count > 0)
            json["must"] = Conditions(filter.Must);
        if (filter.Should.Count > 0)
            json["should"] = Conditions(filter.Should);
        if (filter.MustNot.Count > 0)
            json["must_not"] = Conditions(filter.MustNot);
        if (filter.MinShould is { } minShould)
            json["min_should"] = new JsonObject { ["conditions"] = Conditions(minShould.Conditions), ["min_count"] = minShould.MinCount };
        return json;
    }

    private static JsonArray Conditions(IEnumerable<Condition> conditions) => [.. conditions.Select(c => (JsonNode)Condition(c))];

    private static JsonObject Condition(Condition condition) => condition.ConditionOneOfCase switch
    {
        Qdrant.Client.Grpc.Condition.ConditionOneOfOneofCase.Field => Field(condition.Field),
        Qdrant.Client.Grpc.Condition.ConditionOneOfOneofCase.IsEmpty => new JsonObject { ["is_empty"] = new JsonObject { ["key"] = condition.IsEmpty.Key } },
        Qdrant.Client.Grpc.Condition.ConditionOneOfOneofCase.IsNull => new JsonObject { ["is_null"] = new JsonObject { ["key"] = condition.IsNull.Key } },
        Qdrant.Client.Grpc.Condition.ConditionOneOfOneofCase.HasId => new JsonObject { ["has_id"] = Ids(condition.HasId.HasId) },
        Qdrant.Client.Grpc.Condition.ConditionOneOfOneofCase.HasVector => new JsonObject { ["has_vector"] = condition.HasVector.HasVector },
        Qdrant.Client.Grpc.Condition.ConditionOneOfOneofCase.Filter => Filter(condition.Filter),
        Qdrant.Client.Grpc.Condition.ConditionOneOfOneofCase.Nested => new JsonObject
        {
            ["nested"] = new JsonObject { ["key"] = condition.Nested.Key, ["filter"] = Filter(condition.Nested.Filter ?? new Filter()) },
        },
        _ => throw QuiverException.BadInput($"Wrong input: filter condition `{condition.ConditionOneOfCase}` is not supported yet"),
    };

    private static JsonObject Field(FieldCondition field)
    {
        var json = new JsonObject { ["key"] = field.Key };
        if (field.Match is { } match)
            json["match"] = Match(match);
        if (field.Range is { } range)
            json["range"] = ProtoJson.Settings(range);
        if (field.ValuesCount is { } count)
            json["values_count"] = ProtoJson.Settings(count);
        if (field.DatetimeRange is { } datetimes)
        {
            if (field.Range is not null)
                throw QuiverException.BadInput($"Wrong input: condition on `{field.Key}` has both a range and a datetime range; use one");
            var rangeJson = new JsonObject();
            foreach (var (name, stamp) in new[] { ("lt", datetimes.Lt), ("gt", datetimes.Gt), ("gte", datetimes.Gte), ("lte", datetimes.Lte) })
            {
                if (stamp is not null)
                    rangeJson[name] = Timestamp(stamp, $"{field.Key}.{name}");
            }

            json["range"] = rangeJson;
        }

        if (field.HasIsEmpty || field.HasIsNull || field.GeoBoundingBox is not null || field.GeoRadius is not null || field.GeoPolygon is not null)
            throw QuiverException.BadInput($"Wrong input: this condition on `{field.Key}` is not supported over gRPC yet");
        return json;
    }

    /// <summary>A timestamp as REST's RFC 3339 text; an impossible one is refused, not a server error.</summary>
    public static string Timestamp(Google.Protobuf.WellKnownTypes.Timestamp stamp, string field)
    {
        try
        {
            return stamp.ToDateTimeOffset().ToString("yyyy-MM-ddTHH:mm:ss.ffffffZ", CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
        {
            throw QuiverException.BadInput($"Wrong input: {field}: not a valid timestamp ({ex.Message})");
        }
    }

    private static JsonObject Match(Match match) => match.MatchValueCase switch
    {
        Qdrant.Client.Grpc.Match.MatchValueOneofCase.Keyword => new JsonObject { ["value"] = match.Keyword },
        Qdrant.Client.Grpc.Match.MatchValueOneofCase.Integer => new JsonObject { ["value"] = match.Integer },
        Qdrant.Client.Grpc.Match.MatchValueOneofCase.Boolean => new JsonObject { ["value"] = match.Boolean },
        Qdrant.Client.Grpc.Match.MatchValueOneofCase.Text => new JsonObject { ["text"] = match.Text },
        Qdrant.Client.Grpc.Match.MatchValueOneofCase.Phrase => new JsonObject { ["phrase"] = match.Phrase },
        Qdrant.Client.Grpc.Match.MatchValueOneofCase.TextAny => new JsonObject { ["text_any"] = match.TextAny },
        Qdrant.Client.Grpc.Match.MatchValueOneofCase.Prefix => new JsonObject { ["prefix"] = match.Prefix },
        Qdrant.Client.Grpc.Match.MatchValueOneofCase.Keywords => new JsonObject { ["any"] = new JsonArray([.. match.Keywords.Strings.Select(s => (JsonNode)s)]) },
        Qdrant.Client.Grpc.Match.MatchValueOneofCase.Integers => new JsonObject { ["any"] = new JsonArray([.. match.Integers.Integers.Select(i => (JsonNode)i)]) },
        Qdrant.Client.Grpc.Match.MatchValueOneofCase.ExceptKeywords => new JsonObject { ["except"] = new JsonArray([.. match.ExceptKeywords.Strings.Select(s => (JsonNode)s)]) },
        Qdrant.Client.Grpc.Match.MatchValueOneofCase.ExceptIntegers => new JsonObject { ["except"] = new JsonArray([.. match.ExceptIntegers.Integers.Select(i => (JsonNode)i)]) },
        _ => throw QuiverException.BadInput($"Wrong input: match `{match.MatchValueCase}` is not supported yet"),
    };

    /// <summary>A search or query's shared fields: filter, params, threshold, paging and selectors.</summary>
    public static void SearchCommon(JsonObject body, Filter? filter, SearchParams? parameters, float? threshold, ulong? limit, ulong? offset, WithPayloadSelector? withPayload, WithVectorsSelector? withVectors)
    {
        if (filter is not null)
            body["filter"] = Filter(filter);
        if (parameters is not null)
            body["params"] = ProtoJson.Settings(parameters);
        if (threshold is { } t)
            body["score_threshold"] = float.IsFinite(t) ? t : throw QuiverException.BadInput("Format error in JSON body: score_threshold: expected a number");
        if (limit is { } l)
            body["limit"] = l;
        if (offset is { } o)
            body["offset"] = o;
        if (withPayload is not null)
            body["with_payload"] = WithPayload(withPayload);
        if (withVectors is not null)
            body["with_vector"] = WithVectors(withVectors);
    }

    /// <summary>
    /// A query's <c>query</c>: nearest to a dense vector or a point, or a fusion of prefetches (rrf, dbsf, rrf with k
    /// and weights); other kinds are refused as REST refuses them.
    /// </summary>
    public static JsonNode Query(Query query)
    {
        switch (query.VariantCase)
        {
            case Qdrant.Client.Grpc.Query.VariantOneofCase.Fusion:
                return new JsonObject { ["fusion"] = query.Fusion == Fusion.Dbsf ? "dbsf" : "rrf" };
            case Qdrant.Client.Grpc.Query.VariantOneofCase.Rrf:
            {
                var rrf = new JsonObject();
                if (query.Rrf.HasK)
                    rrf["k"] = query.Rrf.K;
                if (query.Rrf.Weights.Count > 0)
                    rrf["weights"] = new JsonArray([.. query.Rrf.Weights.Select(w => (JsonNode)w)]);
                return new JsonObject { ["rrf"] = rrf };
            }

            case Qdrant.Client.Grpc.Query.VariantOneofCase.Recommend:
            {
                var recommend = new JsonObject
                {
                    ["positive"] = new JsonArray([.. query.Recommend.Positive.Select(Example)]),
                    ["negative"] = new JsonArray([.. query.Recommend.Negative.Select(Example)]),
                };
                if (query.Recommend.HasStrategy)
                {
                    recommend["strategy"] = query.Recommend.Strategy switch
                    {
                        RecommendStrategy.BestScore => "best_score",
                        RecommendStrategy.SumScores => "sum_scores",
                        _ => "average_vector",
                    };
                }

                return new JsonObject { ["recommend"] = recommend };
            }

            case Qdrant.Client.Grpc.Query.VariantOneofCase.Sample:
                return new JsonObject { ["sample"] = "random" };
            case Qdrant.Client.Grpc.Query.VariantOneofCase.NearestWithMmr:
            {
                var mmr = new JsonObject();
                if (query.NearestWithMmr.Mmr is { } given)
                {
                    if (given.HasDiversity)
                        mmr["diversity"] = given.Diversity;
                    if (given.HasCandidatesLimit)
                        mmr["candidates_limit"] = given.CandidatesLimit;
                }

                return new JsonObject { ["nearest"] = Example(query.NearestWithMmr.Nearest), ["mmr"] = mmr };
            }

            case Qdrant.Client.Grpc.Query.VariantOneofCase.Discover:
                return new JsonObject
                {
                    ["discover"] = new JsonObject { ["target"] = Example(query.Discover.Target), ["context"] = Pairs(query.Discover.Context) },
                };
            case Qdrant.Client.Grpc.Query.VariantOneofCase.Context:
                return new JsonObject { ["context"] = Pairs(query.Context) };
            case Qdrant.Client.Grpc.Query.VariantOneofCase.OrderBy:
                return new JsonObject { ["order_by"] = GrpcHandlers.OrderBy(query.OrderBy) };
            case Qdrant.Client.Grpc.Query.VariantOneofCase.Nearest:
                return Example(query.Nearest)!;
            default:
                throw QuiverException.BadInput($"query: `{query.VariantCase}` queries are not supported over gRPC yet");
        }
    }

    private static JsonArray Pairs(ContextInput? context) => context is null
        ? []
        : new JsonArray([.. context.Pairs.Select(p => (JsonNode)new JsonObject { ["positive"] = Example(p.Positive), ["negative"] = Example(p.Negative) })]);

    /// <summary>
    /// A vector input as the REST body writes it: a dense vector, a sparse one, a multivector, a point id, or a
    /// document for the server to embed.
    /// </summary>
    private static JsonNode? Example(VectorInput? input) => input?.VariantCase switch
    {
        VectorInput.VariantOneofCase.Dense => Floats(input.Dense.Data),
        VectorInput.VariantOneofCase.Sparse => Sparse(input.Sparse.Indices, input.Sparse.Values),
        VectorInput.VariantOneofCase.MultiDense => new JsonArray([.. input.MultiDense.Vectors.Select(v => (JsonNode)Floats(v.Data))]),
        VectorInput.VariantOneofCase.Id => Id(input.Id),
        VectorInput.VariantOneofCase.Document => Document(input.Document),
        null => throw QuiverException.BadInput("Wrong input: a vector input is missing"),
        _ => throw QuiverException.BadInput($"Wrong input: vector inputs of kind `{input.VariantCase}` are not supported; dense, sparse, multi-dense, point ids and documents are"),
    };

    /// <summary>Vector components as a JSON array; NaN and infinities are refused (JSON cannot carry them).</summary>
    private static JsonArray Floats(IEnumerable<float> values)
    {
        var array = new JsonArray();
        foreach (var v in values)
            array.Add(float.IsFinite(v) ? v : throw QuiverException.BadInput("Wrong input: vector contains NaN or Infinity"));
        return array;
    }

    /// <summary>A document to embed, as REST's <c>{"text", "model", "options"}</c>.</summary>
    private static JsonObject Document(Qdrant.Client.Grpc.Document document)
    {
        var json = new JsonObject { ["text"] = document.Text, ["model"] = document.Model };
        if (document.Options.Count > 0)
            json["options"] = ProtoJson.FromPayload(document.Options);
        return json;
    }

    /// <summary>A prefetch as the REST body holds it, its own prefetches included.</summary>
    public static JsonObject Prefetch(PrefetchQuery prefetch)
    {
        var json = new JsonObject();
        if (prefetch.Prefetch.Count > 0)
            json["prefetch"] = new JsonArray([.. prefetch.Prefetch.Select(p => (JsonNode)Prefetch(p))]);
        if (prefetch.Query is { } query)
            json["query"] = Query(query);
        if (prefetch.HasUsing)
            json["using"] = prefetch.Using;
        if (prefetch.LookupFrom is not null)
            json["lookup_from"] = new JsonObject();
        SearchCommon(json, prefetch.Filter, prefetch.Params, prefetch.HasScoreThreshold ? prefetch.ScoreThreshold : null, prefetch.HasLimit ? prefetch.Limit : null, null, null, null);
        return json;
    }
}
