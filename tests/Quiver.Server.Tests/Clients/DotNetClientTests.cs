using System.Net;
using System.Text.Json.Nodes;
using Grpc.Core;
using Qdrant.Client;
using Qdrant.Client.Grpc;
using Quiver.Server.Tests.Infrastructure;
using Quiver.Server.Tests.Rest;
using static Qdrant.Client.Grpc.Conditions;

namespace Quiver.Server.Tests.Clients;

/// <summary>
/// The official .NET client (NuGet Qdrant.Client) over gRPC, against a real server. Every operation is done twice:
/// over gRPC on one collection and over REST on a twin, and the answers must be the same, exactly.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class DotNetClientTests(ServerFixture fixture) : IDisposable
{
    private const int Dim = 8;
    private const int Count = 300;
    private readonly RestClient _rest = fixture.Client;
    private readonly QdrantClient _grpc = new("127.0.0.1", fixture.Server.GrpcPort, https: false);
    private readonly string _g = ServerFixture.UniqueName("grpc");
    private readonly string _r = ServerFixture.UniqueName("rest");

    public void Dispose() => _grpc.Dispose();

    [Fact]
    public async Task A_named_vector_s_quantization_is_set_and_disabled_over_grpc()
    {
        await _grpc.CreateCollectionAsync(_g, new VectorParamsMap
        {
            Map =
            {
                ["a"] = new VectorParams { Size = 4, Distance = Distance.Dot, QuantizationConfig = new QuantizationConfig { Scalar = new ScalarQuantization { Type = QuantizationType.Int8, Quantile = 0.9f } } },
                ["b"] = new VectorParams { Size = 4, Distance = Distance.Dot },
            },
        });
        var a = (await InfoAsync(_g))["config"]!["params"]!["vectors"]!["a"]!;
        Assert.Equal(0.9, a["quantization_config"]!["scalar"]!["quantile"]!.GetValue<double>(), 1e-6);

        await _grpc.UpdateCollectionAsync(_g, vectorsConfig: new VectorParamsDiffMap
        {
            Map = { ["a"] = new VectorParamsDiff { QuantizationConfig = new QuantizationConfigDiff { Disabled = new Disabled() } } },
        });
        a = (await InfoAsync(_g))["config"]!["params"]!["vectors"]!["a"]!;
        Assert.Null(a["quantization_config"]);

        var refused = await Assert.ThrowsAsync<RpcException>(() => _grpc.UpdateCollectionAsync(_g, vectorsConfig: new VectorParamsDiffMap
        {
            Map = { ["b"] = new VectorParamsDiff { QuantizationConfig = new QuantizationConfigDiff { Scalar = new ScalarQuantization { Type = QuantizationType.Int8, Quantile = 0.2f } } } },
        }));
        Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
        Assert.Contains("vectors.b.quantization_config.scalar.quantile", refused.Status.Detail, StringComparison.Ordinal);

        // Product quantization's compression enum, x4 being its zero, reads back in REST's spelling.
        await _grpc.UpdateCollectionAsync(_g, vectorsConfig: new VectorParamsDiffMap
        {
            Map = { ["a"] = new VectorParamsDiff { QuantizationConfig = new QuantizationConfigDiff { Product = new ProductQuantization { Compression = CompressionRatio.X4 } } } },
        });
        Assert.Equal("x4", (await InfoAsync(_g))["config"]!["params"]!["vectors"]!["a"]!["quantization_config"]!["product"]!["compression"]!.GetValue<string>());

        // Binary codes with their encodings, set over gRPC, read back over REST in REST's spelling.
        await _grpc.UpdateCollectionAsync(_g, vectorsConfig: new VectorParamsDiffMap
        {
            Map =
            {
                ["b"] = new VectorParamsDiff
                {
                    QuantizationConfig = new QuantizationConfigDiff
                    {
                        Binary = new BinaryQuantization
                        {
                            Encoding = BinaryQuantizationEncoding.TwoBits,
                            QueryEncoding = new BinaryQuantizationQueryEncoding { Setting = BinaryQuantizationQueryEncoding.Types.Setting.Scalar8Bits },
                        },
                    },
                },
            },
        });
        var b = (await InfoAsync(_g))["config"]!["params"]!["vectors"]!["b"]!["quantization_config"]!["binary"]!;
        Assert.Equal("two_bits", b["encoding"]!.GetValue<string>());
        Assert.Equal("scalar8bits", b["query_encoding"]!.GetValue<string>());
        var grpcBinary = (await _grpc.GetCollectionInfoAsync(_g)).Config.Params.VectorsConfig.ParamsMap.Map["b"].QuantizationConfig.Binary;
        Assert.Equal(BinaryQuantizationEncoding.TwoBits, grpcBinary.Encoding);
        Assert.Equal(BinaryQuantizationQueryEncoding.Types.Setting.Scalar8Bits, grpcBinary.QueryEncoding.Setting);
    }

    [Fact]
    public async Task Every_operation_over_grpc_matches_the_same_operation_over_rest()
    {
        // Health: the same versions as REST's root.
        var health = await _grpc.HealthAsync();
        var root = (await _rest.GetAsync("/")).Json!;
        Assert.Equal(root["title"]!.GetValue<string>(), health.Title);
        Assert.Equal(root["version"]!.GetValue<string>(), health.Version);

        // Collections with vectors, HNSW and quantization config.
        await _grpc.CreateCollectionAsync(_g, new VectorParams { Size = Dim, Distance = Distance.Dot },
            hnswConfig: new HnswConfigDiff { M = 8, EfConstruct = 64 },
            optimizersConfig: new OptimizersConfigDiff { IndexingThreshold = 1 },
            quantizationConfig: new QuantizationConfig { Scalar = new ScalarQuantization { Type = QuantizationType.Int8, Quantile = 0.99f } });
        Api.Ok(await _rest.PutAsync($"/collections/{_r}", """
            {"vectors":{"size":8,"distance":"Dot"},"hnsw_config":{"m":8,"ef_construct":64},
             "optimizers_config":{"indexing_threshold":1},"quantization_config":{"scalar":{"type":"int8","quantile":0.99}}}
            """));
        Assert.Equal(RestConfig(await InfoAsync(_r)), RestConfig(await InfoAsync(_g)));
        var info = await _grpc.GetCollectionInfoAsync(_g);
        Assert.Equal(8UL, info.Config.HnswConfig.M);
        Assert.Equal(64UL, info.Config.HnswConfig.EfConstruct);
        Assert.Equal((ulong)Dim, info.Config.Params.VectorsConfig.Params.Size);
        Assert.Equal(Distance.Dot, info.Config.Params.VectorsConfig.Params.Distance);
        Assert.Equal(QuantizationType.Int8, info.Config.QuantizationConfig.Scalar.Type);
        var names = await _grpc.ListCollectionsAsync();
        Assert.Contains(_g, names);
        Assert.Contains(_r, names);
        Assert.True(await _grpc.CollectionExistsAsync(_g));

        // Upsert with wait, the same points both ways.
        var random = new Random(20261126);
        var points = Enumerable.Range(1, Count).Select(i => MakePoint(random, (ulong)i)).ToList();
        var upsert = await _grpc.UpsertAsync(_g, [.. points.Select(p => p.Grpc)], wait: true);
        Assert.Equal(UpdateStatus.Completed, upsert.Status);
        Api.Ok(await _rest.PutAsync($"/collections/{_r}/points?wait=true", new JsonObject { ["points"] = new JsonArray([.. points.Select(p => (JsonNode)p.Json)]) }));
        await AssertSameStateAsync();

        // Field index.
        await _grpc.CreatePayloadIndexAsync(_g, "color", PayloadSchemaType.Keyword);
        Api.Ok(await _rest.PutAsync($"/collections/{_r}/index?wait=true", """{"field_name":"color","field_schema":"keyword"}"""));
        await _grpc.CreatePayloadIndexAsync(_g, "n", PayloadSchemaType.Integer, new PayloadIndexParams { IntegerIndexParams = new IntegerIndexParams { Lookup = true, Range = true, IsPrincipal = true } });
        Api.Ok(await _rest.PutAsync($"/collections/{_r}/index?wait=true", """{"field_name":"n","field_schema":{"type":"integer","lookup":true,"range":true,"is_principal":true}}"""));
        Assert.Equal((await InfoAsync(_r))["payload_schema"]!.ToJsonString(), (await InfoAsync(_g))["payload_schema"]!.ToJsonString());
        var schema = (await _grpc.GetCollectionInfoAsync(_g)).PayloadSchema;
        Assert.Equal(PayloadSchemaType.Keyword, schema["color"].DataType);
        Assert.Equal(PayloadSchemaType.Integer, schema["n"].DataType);
        Assert.True(schema["n"].Params.IntegerIndexParams.IsPrincipal);

        // Get.
        var some = new ulong[] { 3, 1, 77, 300, 9999 };
        var got = await _grpc.RetrieveAsync(_g, [.. some.Select(id => new PointId { Num = id })], withPayload: true, withVectors: true);
        var restGot = Api.Ok(await _rest.PostAsync($"/collections/{_r}/points", new JsonObject { ["ids"] = new JsonArray([.. some.Select(id => (JsonNode)id)]), ["with_vector"] = true })).Result.AsArray();
        Assert.Equal(restGot.Count, got.Count);
        foreach (var (g, r) in got.Zip(restGot))
            AssertSamePoint(r!, g.Id, g.Payload, g.Vectors);

        // Queries: nearest, filtered, through Query and Search, with the exact same ids and scores.
        for (var q = 0; q < 5; q++)
        {
            var vector = Enumerable.Range(0, Dim).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            var filter = MatchKeyword("color", q % 2 == 0 ? "red" : "blue") & Range("n", new Qdrant.Client.Grpc.Range { Gte = 20 });
            var restFilter = new JsonObject
            {
                ["must"] = new JsonArray(
                    new JsonObject { ["key"] = "color", ["match"] = new JsonObject { ["value"] = q % 2 == 0 ? "red" : "blue" } },
                    new JsonObject { ["key"] = "n", ["range"] = new JsonObject { ["gte"] = 20 } }),
            };
            var restQuery = Api.Ok(await _rest.PostAsync($"/collections/{_r}/points/query", new JsonObject
            {
                ["query"] = new JsonArray([.. vector.Select(v => (JsonNode)v)]),
                ["filter"] = restFilter,
                ["limit"] = 7,
                ["with_payload"] = true,
            })).Result["points"]!.AsArray();
            var grpcQuery = await _grpc.QueryAsync(_g, query: vector, filter: filter, limit: 7, payloadSelector: true);
            // Search and Recommend are deprecated in the client, and still what many frameworks call.
#pragma warning disable CS0618
            var grpcSearch = await _grpc.SearchAsync(_g, vector, filter: filter, limit: 7, payloadSelector: true);
#pragma warning restore CS0618
            Assert.Equal(7, restQuery.Count);
            foreach (var result in new[] { grpcQuery, grpcSearch })
            {
                Assert.Equal(restQuery.Count, result.Count);
                foreach (var (g, r) in result.Zip(restQuery))
                {
                    AssertSamePoint(r!, g.Id, g.Payload, null);
                    Assert.Equal(r!["score"]!.GetValue<float>(), g.Score);
                }
            }
        }

        // Quantization search params: codes alone (no rescoring) give the same approximate scores both ways, and a
        // bad oversampling is refused with the REST message.
        var probe = Enumerable.Range(0, Dim).Select(i => (float)Math.Sin(i + 1)).ToArray();
        var codesGrpc = await _grpc.QueryAsync(_g, query: probe, limit: 5, searchParams: new SearchParams { HnswEf = 64, Quantization = new QuantizationSearchParams { Rescore = false, Oversampling = 2 } });
        var codesRest = Api.Ok(await _rest.PostAsync($"/collections/{_r}/points/query", new JsonObject
        {
            ["query"] = new JsonArray([.. probe.Select(v => (JsonNode)v)]),
            ["limit"] = 5,
            ["params"] = new JsonObject { ["hnsw_ef"] = 64, ["quantization"] = new JsonObject { ["rescore"] = false, ["oversampling"] = 2 } },
        })).Result["points"]!.AsArray();
        Assert.Equal(codesRest.Count, codesGrpc.Count);
        foreach (var (g, r) in codesGrpc.Zip(codesRest))
        {
            Assert.Equal(Api.IdText(r!["id"]), g.Id.Num.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(r!["score"]!.GetValue<float>(), g.Score);
        }

        var badOversampling = await Assert.ThrowsAsync<RpcException>(() => _grpc.QueryAsync(_g, query: probe, limit: 5, searchParams: new SearchParams { Quantization = new QuantizationSearchParams { Oversampling = 0.5 } }));
        Assert.Equal(StatusCode.InvalidArgument, badOversampling.StatusCode);
        Assert.Contains("params.quantization.oversampling", badOversampling.Status.Detail, StringComparison.Ordinal);

        // Scroll pages and count.
        var grpcScroll = await _grpc.ScrollAsync(_g, filter: MatchKeyword("color", "red"), limit: 40, payloadSelector: true);
        var restScroll = Api.Ok(await _rest.PostAsync($"/collections/{_r}/points/scroll", """{"filter":{"must":[{"key":"color","match":{"value":"red"}}]},"limit":40}""")).Result;
        Assert.Equal(restScroll["next_page_offset"]!.GetValue<ulong>(), grpcScroll.NextPageOffset.Num);
        foreach (var (g, r) in grpcScroll.Result.Zip(restScroll["points"]!.AsArray()))
            AssertSamePoint(r!, g.Id, g.Payload, null);
        Assert.Equal(
            Api.Ok(await _rest.PostAsync($"/collections/{_r}/points/count", """{"filter":{"must":[{"key":"n","range":{"lt":100}}]},"exact":true}""")).Result["count"]!.GetValue<ulong>(),
            await _grpc.CountAsync(_g, Range("n", new Qdrant.Client.Grpc.Range { Lt = 100 })));

        // Set and delete payload, delete points by ids and by filter.
        await _grpc.SetPayloadAsync(_g, new Dictionary<string, Value> { ["flag"] = true, ["note"] = "hi" }, [5UL, 6UL, 7UL]);
        Api.Ok(await _rest.PostAsync($"/collections/{_r}/points/payload?wait=true", """{"payload":{"flag":true,"note":"hi"},"points":[5,6,7]}"""));
        await _grpc.DeletePayloadAsync(_g, ["note"], [6UL]);
        Api.Ok(await _rest.PostAsync($"/collections/{_r}/points/payload/delete?wait=true", """{"keys":["note"],"points":[6]}"""));
        await _grpc.DeleteAsync(_g, [10UL, 11UL]);
        Api.Ok(await _rest.PostAsync($"/collections/{_r}/points/delete?wait=true", """{"points":[10,11]}"""));
        await _grpc.DeleteAsync(_g, MatchKeyword("color", "green"));
        Api.Ok(await _rest.PostAsync($"/collections/{_r}/points/delete?wait=true", """{"filter":{"must":[{"key":"color","match":{"value":"green"}}]}}"""));
        await AssertSameStateAsync();

        // Snapshots: what gRPC reports is what REST lists.
        var snapshot = await _grpc.CreateSnapshotAsync(_g);
        var listed = Assert.Single(Api.Ok(await _rest.GetAsync($"/collections/{_g}/snapshots")).Result.AsArray())!;
        Assert.Equal(listed["name"]!.GetValue<string>(), snapshot.Name);
        Assert.Equal(listed["size"]!.GetValue<long>(), snapshot.Size);
        Assert.Equal(listed["checksum"]!.GetValue<string>(), snapshot.Checksum);
        Assert.Equal(snapshot.Name, Assert.Single(await _grpc.ListSnapshotsAsync(_g)).Name);
        await _grpc.DeleteSnapshotAsync(_g, snapshot.Name);
        Assert.Empty(await _grpc.ListSnapshotsAsync(_g));

        // A whole-number double stays a double (not an integer) both ways.
        var whole = (await _grpc.RetrieveAsync(_g, 1UL)).Single().Payload["whole"];
        Assert.Equal(Value.KindOneofCase.DoubleValue, whole.KindCase);
        Assert.Equal(3.0, whole.DoubleValue);

        // Errors carry REST's messages with the matching status codes.
        var nan = await Assert.ThrowsAsync<RpcException>(() => _grpc.UpsertAsync(_g, [new PointStruct { Id = 1, Vectors = new[] { float.NaN, 0, 0, 0, 0, 0, 0, 0 } }]));
        Assert.Equal(StatusCode.InvalidArgument, nan.StatusCode);
        var nanThreshold = await Assert.ThrowsAsync<RpcException>(() => _grpc.QueryAsync(_g, query: new float[Dim], scoreThreshold: float.NaN));
        Assert.Equal(StatusCode.InvalidArgument, nanThreshold.StatusCode);
        var conditional = await Assert.ThrowsAsync<RpcException>(() => _grpc.UpsertAsync(_g, [new PointStruct { Id = 1, Vectors = new float[Dim] }], updateFilter: MatchKeyword("color", "red")));
        Assert.Equal(StatusCode.InvalidArgument, conditional.StatusCode);
        var missing = await Assert.ThrowsAsync<RpcException>(() => _grpc.GetCollectionInfoAsync(_g + "_missing"));
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
        Assert.Equal((await _rest.GetAsync($"/collections/{_g}_missing")).Error, missing.Status.Detail);
        var wrongDim = await Assert.ThrowsAsync<RpcException>(() => _grpc.UpsertAsync(_g, [new PointStruct { Id = 1, Vectors = new[] { 1f, 2f } }]));
        Assert.Equal(StatusCode.InvalidArgument, wrongDim.StatusCode);
        Assert.Contains("dimension", wrongDim.Status.Detail, StringComparison.OrdinalIgnoreCase);
        // Prefetches fused by RRF (with k and weights) give the same points and scores both ways, and a bad
        // pipeline is refused with the REST message.
        var other = probe.Select(v => -v).ToArray();
        var fusedGrpc = await _grpc.QueryAsync(_g, query: new Query { Rrf = new Rrf { K = 10, Weights = { 2f, 1f } } }, limit: 6, prefetch:
        [
            new PrefetchQuery { Query = probe, Limit = 15 },
            new PrefetchQuery { Query = other, Filter = MatchKeyword("color", "red"), Limit = 15 },
        ]);
        var fusedRest = Api.Ok(await _rest.PostAsync($"/collections/{_r}/points/query", new JsonObject
        {
            ["prefetch"] = new JsonArray(
                new JsonObject { ["query"] = new JsonArray([.. probe.Select(v => (JsonNode)v)]), ["limit"] = 15 },
                new JsonObject
                {
                    ["query"] = new JsonArray([.. other.Select(v => (JsonNode)v)]),
                    ["filter"] = new JsonObject { ["must"] = new JsonArray(new JsonObject { ["key"] = "color", ["match"] = new JsonObject { ["value"] = "red" } }) },
                    ["limit"] = 15,
                }),
            ["query"] = new JsonObject { ["rrf"] = new JsonObject { ["k"] = 10, ["weights"] = new JsonArray(2, 1) } },
            ["limit"] = 6,
        })).Result["points"]!.AsArray();
        Assert.Equal(6, fusedRest.Count);
        Assert.Equal(fusedRest.Count, fusedGrpc.Count);
        foreach (var (g, r) in fusedGrpc.Zip(fusedRest))
        {
            Assert.Equal(Api.IdText(r!["id"]), g.Id.Num.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(r!["score"]!.GetValue<float>(), g.Score);
        }

        // Facets of a keyword and an integer index, filtered, the same both ways.
        foreach (var key in new[] { "color", "n" })
        {
            var facetGrpc = (await _grpc.FacetAsync(_g, key, filter: Range("n", new Qdrant.Client.Grpc.Range { Gte = 10 }), limit: 5)).Hits;
            var facetRest = Api.Ok(await _rest.PostAsync($"/collections/{_r}/facet", $$$"""{"key":"{{{key}}}","filter":{"must":[{"key":"n","range":{"gte":10}}]},"limit":5}""")).Result["hits"]!.AsArray();
            Assert.NotEmpty(facetRest);
            Assert.Equal(facetRest.Count, facetGrpc.Count);
            foreach (var (g, r) in facetGrpc.Zip(facetRest))
            {
                Assert.Equal(r!["count"]!.GetValue<ulong>(), g.Count);
                Assert.Equal(r["value"]!.ToJsonString(), g.Value.VariantCase == FacetValue.VariantOneofCase.StringValue ? $"\"{g.Value.StringValue}\"" : g.Value.IntegerValue.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        // Recommendations by point ids (two still stored) with best_score likewise.
        var kept = (await _grpc.ScrollAsync(_g, limit: 2)).Result.Select(p => p.Id.Num).ToArray();
        var recommendGrpc = await _grpc.QueryAsync(_g, limit: 5, query: new Query
        {
            Recommend = new RecommendInput { Positive = { new VectorInput { Id = kept[0] } }, Negative = { new VectorInput { Id = kept[1] } }, Strategy = RecommendStrategy.BestScore },
        });
        var recommendRest = Api.Ok(await _rest.PostAsync($"/collections/{_r}/points/query", $$$"""{"query":{"recommend":{"positive":[{{{kept[0]}}}],"negative":[{{{kept[1]}}}],"strategy":"best_score"}},"limit":5}""")).Result["points"]!.AsArray();
        Assert.Equal(5, recommendRest.Count);
        Assert.Equal(recommendRest.Count, recommendGrpc.Count);
        foreach (var (g, r) in recommendGrpc.Zip(recommendRest))
        {
            Assert.Equal(Api.IdText(r!["id"]), g.Id.Num.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(r!["score"]!.GetValue<float>(), g.Score);
        }

        Assert.DoesNotContain(recommendGrpc, p => kept.Contains(p.Id.Num));

        var prefetch = await Assert.ThrowsAsync<RpcException>(() => _grpc.QueryAsync(_g, query: new Query { Fusion = Fusion.Rrf }));
        Assert.Equal(StatusCode.InvalidArgument, prefetch.StatusCode);
        Assert.Equal((await _rest.PostAsync($"/collections/{_r}/points/query", """{"query":{"fusion":"rrf"}}""")).Error, prefetch.Status.Detail);
#pragma warning disable CS0618
        var unimplemented = await Assert.ThrowsAsync<RpcException>(() => _grpc.RecommendAsync(_g, positive: [1UL]));
#pragma warning restore CS0618
        Assert.Equal(StatusCode.Unimplemented, unimplemented.StatusCode);
        Assert.Contains("Recommend", unimplemented.Status.Detail, StringComparison.Ordinal);

        // Delete.
        await _grpc.DeleteCollectionAsync(_g);
        Api.Ok(await _rest.DeleteAsync($"/collections/{_r}"));
        Assert.False(await _grpc.CollectionExistsAsync(_g));
        Assert.Equal(HttpStatusCode.NotFound, (await _rest.GetAsync($"/collections/{_g}")).Status);
    }

    /// <summary>Every point of both collections, with payload and vector, read over REST and over gRPC.</summary>
    private async Task AssertSameStateAsync()
    {
        var rest = Api.Ok(await _rest.PostAsync($"/collections/{_r}/points/scroll", """{"limit":1000,"with_vector":true}""")).Result["points"]!.AsArray();
        var restOfGrpc = Api.Ok(await _rest.PostAsync($"/collections/{_g}/points/scroll", """{"limit":1000,"with_vector":true}""")).Result["points"]!.AsArray();
        Assert.Equal(rest.ToJsonString(), restOfGrpc.ToJsonString());
        var grpc = await _grpc.ScrollAsync(_g, limit: 1000, payloadSelector: true, vectorsSelector: true);
        Assert.Equal(rest.Count, grpc.Result.Count);
        foreach (var (g, r) in grpc.Result.Zip(rest))
            AssertSamePoint(r!, g.Id, g.Payload, g.Vectors);
    }

    private static void AssertSamePoint(JsonNode rest, PointId id, Google.Protobuf.Collections.MapField<string, Value> payload, VectorsOutput? vectors)
    {
        Assert.Equal(rest["id"]!.GetValue<ulong>(), id.Num);
        Assert.Equal((rest["payload"] ?? new JsonObject()).ToJsonString(), Json(payload).ToJsonString());
        if (vectors is not null)
            Assert.Equal(rest["vector"]!.AsArray().Select(v => v!.GetValue<float>()), vectors.Vector.Dense.Data);
    }

    private static JsonObject Json(Google.Protobuf.Collections.MapField<string, Value> payload) => new(payload.Select(p => KeyValuePair.Create(p.Key, Json(p.Value))));

    private static JsonNode? Json(Value value) => value.KindCase switch
    {
        Value.KindOneofCase.IntegerValue => value.IntegerValue,
        Value.KindOneofCase.DoubleValue => JsonDouble(value.DoubleValue),
        Value.KindOneofCase.StringValue => value.StringValue,
        Value.KindOneofCase.BoolValue => value.BoolValue,
        Value.KindOneofCase.StructValue => Json(value.StructValue.Fields),
        Value.KindOneofCase.ListValue => new JsonArray([.. value.ListValue.Values.Select(Json)]),
        _ => null,
    };

    private async Task<JsonNode> InfoAsync(string name) => Api.Ok(await _rest.GetAsync($"/collections/{name}")).Result;

    private static string RestConfig(JsonNode info) => info["config"]!.ToJsonString();

    /// <summary>A double spelled as one: JsonNode would write 11.0 as 11, which a server stores as an integer.</summary>
    private static JsonNode JsonDouble(double value)
    {
        var text = value.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        using var doc = System.Text.Json.JsonDocument.Parse(text.Contains('.', StringComparison.Ordinal) ? text : text + ".0");
        return JsonValue.Create(doc.RootElement.Clone())!;
    }

    private static (PointStruct Grpc, JsonObject Json) MakePoint(Random random, ulong id)
    {
        var vector = Enumerable.Range(0, Dim).Select(_ => (float)Math.Round(random.NextDouble() * 2 - 1, 4)).ToArray();
        var color = new[] { "red", "blue", "green" }[random.Next(3)];
        var n = random.Next(200);
        var price = Math.Round(random.NextDouble() * 100, 2);
        var grpc = new PointStruct { Id = id, Vectors = vector };
        grpc.Payload["color"] = color;
        grpc.Payload["n"] = n;
        grpc.Payload["price"] = price;
        grpc.Payload["tags"] = new[] { "a", color };
        grpc.Payload["whole"] = 3.0;
        grpc.Payload["meta"] = new Value { StructValue = new Struct { Fields = { ["ok"] = n % 2 == 0, ["depth"] = new Value { StructValue = new Struct { Fields = { ["x"] = 1 } } } } } };
        var rest = new JsonObject
        {
            ["id"] = id,
            ["vector"] = new JsonArray([.. vector.Select(v => (JsonNode)v)]),
            ["payload"] = new JsonObject
            {
                ["color"] = color,
                ["n"] = n,
                ["price"] = JsonDouble(price),
                ["tags"] = new JsonArray("a", color),
                ["whole"] = JsonDouble(3.0),
                ["meta"] = new JsonObject { ["ok"] = n % 2 == 0, ["depth"] = new JsonObject { ["x"] = 1 } },
            },
        };
        return (grpc, rest);
    }
}
