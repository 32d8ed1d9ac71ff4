using System.Text.Json.Nodes;
using Quiver.Server.Tests.Infrastructure;

namespace Quiver.Server.Tests.Cluster;

/// <summary>
/// Three Quiver nodes on a three-server NATS cluster: a collection of 6 shards with replication_factor 2 takes
/// writes through every node and answers reads through every node exactly as a single-node server holding the same
/// data does.
/// </summary>
[Collection(ClusterTestsCollection.Name)]
public sealed class ClusterModeTests(QuiverClusterFixture fixture, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<QuiverClusterFixture>
{
    private const int Dimension = 16;

    [Fact]
    public async Task Every_node_takes_writes_and_answers_reads_as_a_single_node_does()
    {
        var name = $"cm-{Guid.NewGuid():N}";
        using var single = new RestClient(fixture.Single.BaseAddress);
        var nodes = fixture.Nodes.Select(n => new RestClient(n.BaseAddress)).ToArray();
        try
        {
            var create = new { vectors = new { size = Dimension, distance = "Cosine" }, shard_number = 6, replication_factor = 2 };
            (await nodes[0].PutAsync($"/collections/{name}", create)).EnsureOk();
            (await single.PutAsync($"/collections/{name}", create)).EnsureOk();
            // Every node opened it before the create was answered.
            foreach (var node in nodes)
                Assert.Equal(6, (await node.GetAsync($"/collections/{name}/cluster")).EnsureOk().Result["shard_count"]!.GetValue<int>());

            // Writes through every node in turn, the same ones to the single node.
            var writes = Writes(name);
            for (var i = 0; i < writes.Count; i++)
            {
                var (method, path, body) = writes[i];
                var clustered = await nodes[i % nodes.Length].SendAsync(method, path, body);
                Assert.True(clustered.Status == System.Net.HttpStatusCode.OK, $"write {i} through node {i % nodes.Length}: {clustered.Text}");
                (await single.SendAsync(method, path, body)).EnsureOk();
            }

            // Each shard is served by exactly two nodes.
            var replicas = new int[6];
            foreach (var node in nodes)
            {
                foreach (var shard in (await node.GetAsync($"/collections/{name}/cluster")).EnsureOk().Result["local_shards"]!.AsArray())
                    replicas[shard!["shard_id"]!.GetValue<int>()]++;
            }

            Assert.All(replicas, count => Assert.Equal(2, count));

            foreach (var (method, path, body) in Reads(name))
            {
                var expected = (await single.SendAsync(method, path, body)).EnsureOk().Result;
                for (var n = 0; n < nodes.Length; n++)
                {
                    var actual = (await nodes[n].SendAsync(method, path, body)).EnsureOk().Result;
                    AssertSameResult(expected, actual, $"{method} {path} {body} through node {n}");
                }
            }

            // A point that does not exist is 404 through every node, as on one.
            foreach (var node in nodes)
                Assert.Equal(System.Net.HttpStatusCode.NotFound, (await node.GetAsync($"/collections/{name}/points/987654")).Status);
        }
        finally
        {
            await nodes[1].DeleteAsync($"/collections/{name}");
            await single.DeleteAsync($"/collections/{name}");
            foreach (var node in nodes)
                node.Dispose();
        }
    }

    [Fact]
    public async Task Reads_that_do_not_merge_exactly_across_shards_are_refused_with_the_reason()
    {
        var name = $"cm-{Guid.NewGuid():N}";
        using var node = new RestClient(fixture.Nodes[2].BaseAddress);
        (await node.PutAsync($"/collections/{name}", new { vectors = new { size = 2, distance = "Dot" }, shard_number = 2 })).EnsureOk();
        try
        {
            var fusion = await node.PostAsync($"/collections/{name}/points/query", """{"prefetch":[{"query":[1,0]}],"query":{"fusion":"rrf"}}""");
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, fusion.Status);
            Assert.Contains("prefetch is not available in cluster mode", fusion.Error, StringComparison.Ordinal);
            var byId = await node.PostAsync($"/collections/{name}/points/query", """{"query":5}""");
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, byId.Status);
            Assert.Contains("query by point id", byId.Error, StringComparison.Ordinal);
            var groups = await node.PostAsync($"/collections/{name}/points/query/groups", """{"query":[1,0],"group_by":"g"}""");
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, groups.Status);
            Assert.Contains("not available in cluster mode", groups.Error, StringComparison.Ordinal);
            var aliases = await node.PostAsync("/collections/aliases", $$$"""{"actions":[{"create_alias":{"collection_name":"{{{name}}}","alias_name":"a-{{{name}}}"}}]}""");
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, aliases.Status);
            // The same bad input gets the same answer as on one node.
            var wrongDimension = await node.PostAsync($"/collections/{name}/points/query", """{"query":[1,0,0]}""");
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, wrongDimension.Status);
            Assert.Contains("expected dim: 2, got 3", wrongDimension.Error, StringComparison.Ordinal);
        }
        finally
        {
            await node.DeleteAsync($"/collections/{name}");
        }
    }

    [Fact]
    public async Task Resharding_from_6_to_12_shards_under_write_load_keeps_every_acknowledged_write()
    {
        var name = $"reshard-{Guid.NewGuid():N}";
        var nodes = fixture.Nodes.Select(n => new RestClient(n.BaseAddress)).ToArray();
        try
        {
            (await nodes[0].PutAsync($"/collections/{name}", new { vectors = new { size = 4, distance = "Dot" }, shard_number = 6, replication_factor = 2 })).EnsureOk();
            using var stop = new CancellationTokenSource();
            var models = new Dictionary<long, int>[3];
            var writes = new int[3];
            async Task WriterAsync(int writer)
            {
                var model = models[writer] = [];
                var random = new Random(writer);
                for (var i = 0; !stop.IsCancellationRequested; i++)
                {
                    // Every tenth operation deletes this writer's older points by filter: its place among the
                    // upserts must survive the copy into the new shards.
                    // Every third and seventh operation writes the previous operation's points again, with new
                    // payloads: the newest write of a point must be the one that survives the copy.
                    var target = i % 10 is 3 or 7 ? i - 1 : i;
                    var (path, body) = i % 10 == 9
                        ? ($"/collections/{name}/points/delete?wait=true", $$$"""{"filter":{"must":[{"key":"w","match":{"value":{{{writer}}}}},{"key":"i","range":{"lt":{{{i - 5}}}}}]}}""")
                        : ($"/collections/{name}/points?wait=true", "{\"points\":[" + string.Join(',', Enumerable.Range(0, 4).Select(j =>
                            $$$"""{"id":{{{(writer * 1_000_000L) + (target * 4) + j}}},"vector":[{{{random.Next(9)}}},1,2,3],"payload":{"w":{{{writer}}},"i":{{{i}}}}}""")) + "]}");
                    // A write that fails is sent again until it succeeds (point writes may be repeated), so the model stays exact.
                    while (true)
                    {
                        var reply = await nodes[random.Next(3)].SendAsync(i % 10 == 9 ? HttpMethod.Post : HttpMethod.Put, path, body);
                        if (reply.Status == System.Net.HttpStatusCode.OK)
                            break;
                        Assert.True((int)reply.Status >= 500, $"write refused: {reply.Text}");
                        await Task.Delay(50);
                    }

                    if (i % 10 == 9)
                    {
                        foreach (var id in model.Where(p => p.Value < i - 5).Select(p => p.Key).ToList())
                            model.Remove(id);
                    }
                    else
                    {
                        for (var j = 0; j < 4; j++)
                            model[(writer * 1_000_000L) + (target * 4) + j] = i;
                    }

                    writes[writer]++;
                }
            }

            var load = Enumerable.Range(0, 3).Select(w => Task.Run(() => WriterAsync(w))).ToArray();
            await Task.Delay(1500);
            var before = writes.Sum();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            RestResponse reshard;
            try
            {
                reshard = await nodes[1].PostAsync($"/collections/{name}/cluster", """{"reshard":{"shard_number":12}}""");
            }
            catch (TaskCanceledException)
            {
                DumpNodeLogs();
                throw;
            }

            Assert.True(reshard.Status == System.Net.HttpStatusCode.OK, reshard.Text);
            var during = writes.Sum() - before;
            output.WriteLine($"resharding 6 -> 12 took {clock.Elapsed.TotalSeconds:F2} s; {before} writes acknowledged before it, {during} while it ran");
            await Task.Delay(1500);
            await stop.CancelAsync();
            try
            {
                await Task.WhenAll(load);
            }
            catch (TaskCanceledException)
            {
                DumpNodeLogs();
                throw;
            }

            Assert.True(during > 0, "no write was acknowledged while the collection was being resharded");

            foreach (var node in nodes)
            {
                Assert.Equal(12, (await node.GetAsync($"/collections/{name}/cluster")).EnsureOk().Result["shard_count"]!.GetValue<int>());
                for (var writer = 0; writer < 3; writer++)
                {
                    var stored = new Dictionary<long, int>();
                    JsonNode? offset = null;
                    do
                    {
                        var page = (await node.PostAsync($"/collections/{name}/points/scroll?read_consistency=all", new JsonObject
                        {
                            ["limit"] = 1000,
                            ["with_payload"] = true,
                            ["offset"] = offset?.DeepClone(),
                            ["filter"] = JsonNode.Parse($$$"""{"must":[{"key":"w","match":{"value":{{{writer}}}}}]}"""),
                        })).EnsureOk().Result;
                        foreach (var point in page["points"]!.AsArray())
                            stored[point!["id"]!.GetValue<long>()] = point["payload"]!["i"]!.GetValue<int>();
                        offset = page["next_page_offset"];
                    }
                    while (offset is not null);
                    Assert.True(stored.Keys.ToHashSet().SetEquals(models[writer].Keys), $"writer {writer}: {models[writer].Count} points expected, {stored.Count} stored; missing {string.Join(',', models[writer].Keys.Except(stored.Keys).Take(5))}, extra {string.Join(',', stored.Keys.Except(models[writer].Keys).Take(5))}");
                    var stale = models[writer].Where(p => stored[p.Key] != p.Value).Take(5).ToList();
                    Assert.True(stale.Count == 0, $"writer {writer}: points with an older write than the last acknowledged: {string.Join(", ", stale.Select(p => $"{p.Key} has i={stored[p.Key]}, expected {p.Value}"))}");
                }
            }

            output.WriteLine($"after: {writes.Sum()} writes acknowledged; points expected and found through every node: {models.Sum(m => m.Count)}");
            var replicas = new int[12];
            foreach (var node in nodes)
            {
                foreach (var shard in (await node.GetAsync($"/collections/{name}/cluster")).EnsureOk().Result["local_shards"]!.AsArray())
                    replicas[shard!["shard_id"]!.GetValue<int>()]++;
            }

            Assert.All(replicas, count => Assert.Equal(2, count));
        }
        finally
        {
            await nodes[0].DeleteAsync($"/collections/{name}");
            foreach (var node in nodes)
                node.Dispose();
        }
    }

    /// <summary>What the nodes logged lately (warnings and cluster events), for a failure report.</summary>
    private void DumpNodeLogs()
    {
        foreach (var node in fixture.Nodes)
        {
            output.WriteLine($"--- {node.BaseAddress}");
            foreach (var line in node.Output.Split('\n').Where(l => !l.Contains("Members changed", StringComparison.Ordinal)).TakeLast(25))
                output.WriteLine(line);
        }
    }

    /// <summary>Upserts (numeric and UUID ids), a payload index, deletes and payload changes: the same list for both.</summary>
    private static List<(HttpMethod, string, string)> Writes(string name)
    {
        var random = new Random(20261127);
        var writes = new List<(HttpMethod, string, string)>();
        for (var batch = 0; batch < 9; batch++)
        {
            var points = new JsonArray();
            for (var i = 0; i < 100; i++)
            {
                var n = (batch * 100) + i;
                JsonNode id = n % 10 == 9 ? JsonValue.Create(new Guid(n, 7, 7, 1, 2, 3, 4, 5, 6, 7, 8).ToString())! : JsonValue.Create(n);
                var vector = new JsonArray([.. Enumerable.Range(0, Dimension).Select(_ => (JsonNode)JsonValue.Create(Math.Round((random.NextDouble() * 2) - 1, 4)))]);
                points.Add(new JsonObject { ["id"] = id, ["vector"] = vector, ["payload"] = new JsonObject { ["group"] = $"g{n % 7}", ["n"] = n } });
            }

            writes.Add((HttpMethod.Put, $"/collections/{name}/points?wait=true", new JsonObject { ["points"] = points }.ToJsonString()));
            if (batch == 3)
                writes.Add((HttpMethod.Put, $"/collections/{name}/index?wait=true", """{"field_name":"group","field_schema":"keyword"}"""));
        }

        writes.Add((HttpMethod.Post, $"/collections/{name}/points/delete?wait=true", """{"points":[0,1,2,3,50,51,52,700]}"""));
        writes.Add((HttpMethod.Post, $"/collections/{name}/points/delete?wait=true", """{"filter":{"must":[{"key":"n","range":{"gte":800,"lt":820}}]}}"""));
        writes.Add((HttpMethod.Post, $"/collections/{name}/points/payload?wait=true", """{"payload":{"flag":true},"filter":{"must":[{"key":"group","match":{"value":"g3"}}]}}"""));
        writes.Add((HttpMethod.Put, $"/collections/{name}/points/payload?wait=true", """{"payload":{"group":"g0","n":-1},"points":[10,11,12]}"""));
        return writes;
    }

    private static List<(HttpMethod, string, string)> Reads(string name)
    {
        var random = new Random(7);
        string Vector() => "[" + string.Join(',', Enumerable.Range(0, Dimension).Select(_ => Math.Round((random.NextDouble() * 2) - 1, 4).ToString(System.Globalization.CultureInfo.InvariantCulture))) + "]";
        var reads = new List<(HttpMethod, string, string)>
        {
            (HttpMethod.Post, $"/collections/{name}/points/count", "{}"),
            (HttpMethod.Post, $"/collections/{name}/points/count", """{"filter":{"must":[{"key":"flag","match":{"value":true}}]}}"""),
            (HttpMethod.Post, $"/collections/{name}/facet", """{"key":"group","limit":4}"""),
            (HttpMethod.Post, $"/collections/{name}/points", """{"ids":[17,5,"00000009-0007-0007-0102-030405060708",999999,10],"with_vector":true}"""),
            (HttpMethod.Get, $"/collections/{name}/points/17", null!),
            (HttpMethod.Post, $"/collections/{name}/points/query/batch", $$"""{"searches":[{"query":{{Vector()}},"limit":5},{"query":{"nearest":{{Vector()}}},"limit":3,"offset":4,"with_payload":true}]}"""),
        };
        for (var q = 0; q < 12; q++)
        {
            var filter = q % 3 == 1 ? ""","filter":{"must":[{"key":"group","match":{"any":["g1","g2"]}}]}""" : string.Empty;
            reads.Add((HttpMethod.Post, $"/collections/{name}/points/query", $$"""{"query":{{Vector()}},"limit":10,"offset":{{q % 4}},"with_payload":true{{filter}}}"""));
        }

        // Every scroll page, each starting where the last ended.
        reads.Add((HttpMethod.Post, $"/collections/{name}/points/scroll", """{"limit":37,"with_payload":true}"""));
        foreach (var offset in new[] { "\"00000009-0007-0007-0102-030405060708\"", "305", "898", "4" })
            reads.Add((HttpMethod.Post, $"/collections/{name}/points/scroll", $$"""{"limit":37,"offset":{{offset}},"filter":""" + """{"must_not":[{"key":"group","match":{"value":"g5"}}]}}"""));
        return reads;
    }

    /// <summary>Equal JSON, except that scores may differ in the last bits (summed in another order) and versions are not compared.</summary>
    private static void AssertSameResult(JsonNode? expected, JsonNode? actual, string what)
    {
        switch (expected)
        {
            case JsonObject e:
            {
                var a = Assert.IsType<JsonObject>(actual);
                var keys = e.Select(p => p.Key).Where(k => k != "version").Order(StringComparer.Ordinal).ToArray();
                Assert.True(keys.SequenceEqual(a.Select(p => p.Key).Where(k => k != "version").Order(StringComparer.Ordinal)), $"{what}: fields {e.ToJsonString()} vs {a.ToJsonString()}");
                foreach (var key in keys)
                {
                    if (key == "score")
                        Assert.True(Math.Abs(e[key]!.GetValue<double>() - a[key]!.GetValue<double>()) < 1e-5, $"{what}: score {e.ToJsonString()} vs {a.ToJsonString()}");
                    else
                        AssertSameResult(e[key], a[key], what);
                }

                break;
            }

            case JsonArray e:
            {
                var a = Assert.IsType<JsonArray>(actual);
                Assert.True(e.Count == a.Count, $"{what}: {e.Count} items expected, {a.Count} given: {e.ToJsonString()} vs {a.ToJsonString()}");
                for (var i = 0; i < e.Count; i++)
                    AssertSameResult(e[i], a[i], what);
                break;
            }

            default:
                Assert.True(JsonNode.DeepEquals(expected, actual), $"{what}: {expected?.ToJsonString()} vs {actual?.ToJsonString()}");
                break;
        }
    }
}
