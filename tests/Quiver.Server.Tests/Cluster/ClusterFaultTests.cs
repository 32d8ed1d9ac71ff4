using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using NATS.Client.Core;
using NATS.Client.JetStream;
using Xunit.Abstractions;

namespace Quiver.Server.Tests.Cluster;

/// <summary>
/// Faults under a bounded mixed load: a Quiver node is SIGKILLed and restarted, then the NATS server leading a
/// shard log's stream is SIGKILLed and restarted. A history checker then confirms that every acknowledged write is
/// present through every node, that no read returned a point whose write was refused, and that every
/// read-your-writes read (sent with the write's token, through another node) saw the write.
/// </summary>
[Collection(ClusterTestsCollection.Name)]
public sealed class ClusterFaultTests(SnapshottingClusterFixture fixture, ITestOutputHelper output) : IClassFixture<SnapshottingClusterFixture>
{
    [Fact]
    public async Task Acknowledged_writes_survive_a_killed_node_and_a_killed_log_leader_and_reads_stay_consistent()
    {
        try
        {
            var name = $"faults-{Guid.NewGuid():N}";
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(90) };
            var addresses = fixture.Nodes.Select(n => n.BaseAddress).ToArray();
            var alive = new bool[] { true, true, true };
            Uri Pick(Random random, int? except = null)
            {
                lock (alive)
                {
                    var choices = Enumerable.Range(0, 3).Where(i => alive[i] && i != except).ToArray();
                    return addresses[choices[random.Next(choices.Length)]];
                }
            }

            var create = await SendAsync(http, HttpMethod.Put, new Uri(addresses[0], $"/collections/{name}"), """{"vectors":{"size":4,"distance":"Euclid"},"shard_number":6,"replication_factor":2}""");
            Assert.Equal(HttpStatusCode.OK, create.Status);

            var acked = new ConcurrentDictionary<long, bool>();
            var refused = new ConcurrentDictionary<long, bool>();
            var unknown = new ConcurrentDictionary<long, bool>();
            var seen = new ConcurrentDictionary<long, bool>();
            var violations = new ConcurrentQueue<string>();
            var searches = new ConcurrentQueue<(double At, bool Ok)>();
            var rywReads = 0;
            var writeLatencies = new ConcurrentQueue<(double At, double Seconds)>();
            var unknownReasons = new ConcurrentQueue<string>();
            var clock = Stopwatch.StartNew();
            using var stop = new CancellationTokenSource();

            async Task WriterAsync(int writer)
            {
                var random = new Random(writer);
                for (var i = 0; !stop.IsCancellationRequested; i++)
                {
                    var ids = Enumerable.Range(0, 5).Select(j => ((long)writer * 1_000_000) + (i * 5) + j).ToArray();
                    var points = string.Join(',', ids.Select(id => $$"""{"id":{{id}},"vector":[{{random.Next(100)}},{{random.Next(100)}},{{random.Next(100)}},{{random.Next(100)}}],"payload":{"w":{{writer}}""" + "}}"));
                    var through = Pick(random);
                    Reply reply;
                    var started = clock.Elapsed.TotalSeconds;
                    try
                    {
                        reply = await SendAsync(http, HttpMethod.Put, new Uri(through, $"/collections/{name}/points?wait=true"), $$"""{"points":[{{points}}]}""");
                    }
                    catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                    {
                        foreach (var id in ids)
                            unknown[id] = true;
                        unknownReasons.Enqueue($"{started:F1} s: {ex.Message}");
                        continue;
                    }

                    writeLatencies.Enqueue((started, clock.Elapsed.TotalSeconds - started));
                    if (reply.Status != HttpStatusCode.OK)
                    {
                        unknownReasons.Enqueue($"{started:F1} s: HTTP {(int)reply.Status} {reply.Json?.ToJsonString()}");
                        foreach (var id in ids)
                            (reply.Status < HttpStatusCode.InternalServerError ? refused : unknown)[id] = true;
                        continue;
                    }

                    foreach (var id in ids)
                        acked[id] = true;
                    // Read-your-writes through another node, with the write's token.
                    var token = reply.Headers.TryGetValues("x-quiver-write-token", out var values) ? values.Single() : throw new InvalidOperationException("no write token");
                    try
                    {
                        var read = await SendAsync(http, HttpMethod.Post, new Uri(Pick(random, Array.IndexOf(addresses, through)), $"/collections/{name}/points"), $"{{\"ids\":[{string.Join(',', ids)}]}}", token);
                        if (read.Status == HttpStatusCode.OK)
                        {
                            Interlocked.Increment(ref rywReads);
                            var got = read.Json!["result"]!.AsArray().Select(p => p!["id"]!.GetValue<long>()).ToHashSet();
                            if (!ids.All(got.Contains))
                                violations.Enqueue($"read-your-writes: wrote {string.Join(',', ids)} (token {token}), read {string.Join(',', got)}");
                        }
                    }
                    catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                    {
                        // The node picked died meanwhile: no read happened.
                    }
                }
            }

            async Task SearcherAsync(int searcher)
            {
                var random = new Random(100 + searcher);
                while (!stop.IsCancellationRequested)
                {
                    var ok = false;
                    try
                    {
                        var reply = await SendAsync(http, HttpMethod.Post, new Uri(Pick(random), $"/collections/{name}/points/query"),
                            $$"""{"query":[{{random.Next(100)}},{{random.Next(100)}},{{random.Next(100)}},{{random.Next(100)}}],"limit":10}""");
                        ok = reply.Status == HttpStatusCode.OK;
                        if (ok)
                        {
                            foreach (var point in reply.Json!["result"]!["points"]!.AsArray())
                                seen[point!["id"]!.GetValue<long>()] = true;
                        }
                    }
                    catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                    {
                    }

                    searches.Enqueue((clock.Elapsed.TotalSeconds, ok));
                    await Task.Delay(20);
                }
            }

            var load = Enumerable.Range(0, 3).Select(w => Task.Run(() => WriterAsync(w))).Concat(Enumerable.Range(0, 2).Select(s => Task.Run(() => SearcherAsync(s)))).ToArray();

            // Peer ids as GET /cluster lists them; a running peer cannot be removed.
            var peers = (await SendAsync(http, HttpMethod.Get, new Uri(addresses[0], "/cluster"), null)).Json!["result"]!["peers"]!.AsObject()
                .ToDictionary(p => p.Value!["node_id"]!.GetValue<string>(), p => p.Key);
            Assert.Equal(3, peers.Count);
            var running = await SendAsync(http, HttpMethod.Delete, new Uri(addresses[0], $"/cluster/peer/{peers[fixture.NodeId(2)]}?force=true"), null);
            Assert.Equal(HttpStatusCode.BadRequest, running.Status);
            Assert.Contains("is running", running.Json!["status"]!["error"]!.GetValue<string>(), StringComparison.Ordinal);

            // The faults, one after the other.
            await Task.Delay(3000);
            lock (alive)
                alive[1] = false;
            var nodeKilledAt = clock.Elapsed.TotalSeconds;
            await fixture.KillNodeAsync(1);
            // Removed at once rather than after three missed beats: its shards move to the other two now.
            var removed = await SendAsync(http, HttpMethod.Delete, new Uri(addresses[0], $"/cluster/peer/{peers[fixture.NodeId(1)]}?force=true"), null);
            Assert.True(removed.Status == HttpStatusCode.OK, removed.Json?.ToJsonString());
            var members = (await SendAsync(http, HttpMethod.Get, new Uri(addresses[0], "/cluster"), null)).Json!["result"]!["peers"]!.AsObject();
            Assert.DoesNotContain(members, p => p.Value!["node_id"]!.GetValue<string>() == fixture.NodeId(1));
            await Task.Delay(6000);
            var restarted = await fixture.StartNodeAsync(1);
            var nodeBackAt = clock.Elapsed.TotalSeconds;
            lock (alive)
            {
                addresses[1] = restarted.BaseAddress;
                alive[1] = true;
            }

            await Task.Delay(3000);
            var (stream, leader) = await LogLeaderAsync();
            var leaderKilledAt = clock.Elapsed.TotalSeconds;
            await fixture.Nats.KillAsync(leader);
            await Task.Delay(8000);
            fixture.Nats.Restart(leader);
            await Task.Delay(5000);
            await stop.CancelAsync();
            var loadSeconds = clock.Elapsed.TotalSeconds;
            await Task.WhenAll(load);

            // Every node has caught up: each returns every acknowledged point, and all count the same.
            var expected = acked.Keys.Order().ToArray();
            var counts = new List<long>();
            for (var n = 0; n < 3; n++)
            {
                var missing = await MissingAsync(http, addresses[n], name, expected);
                Assert.True(missing.Count == 0, $"node {n} is missing {missing.Count} acknowledged points, e.g. {string.Join(',', missing.Take(10))}");
                counts.Add((await SendAsync(http, HttpMethod.Post, new Uri(addresses[n], $"/collections/{name}/points/count"), "{}", readConsistency: true)).Json!["result"]!["count"]!.GetValue<long>());
            }

            var history = searches.ToArray();
            var duringLoss = history.Where(s => s.At >= nodeKilledAt && s.At <= nodeBackAt).ToArray();
            var okTimes = history.Where(s => s.Ok).Select(s => s.At).Prepend(0).Append(loadSeconds).ToArray();
            var longestGap = okTimes.Zip(okTimes.Skip(1), (a, b) => b - a).Max();
            var lossOk = duringLoss.Where(s => s.Ok).Select(s => s.At).Prepend(nodeKilledAt).Append(nodeBackAt).ToArray();
            var longestLossGap = lossOk.Zip(lossOk.Skip(1), (a, b) => b - a).Max();
            output.WriteLine($"load {loadSeconds:F1} s; Quiver node killed at {nodeKilledAt:F1} s, back at {nodeBackAt:F1} s; NATS leader {leader} of {stream} killed at {leaderKilledAt:F1} s");
            output.WriteLine($"writes: {acked.Count} points acknowledged, {unknown.Count} unknown, {refused.Count} refused; counts through the nodes {string.Join(", ", counts)}");
            output.WriteLine($"read-your-writes reads: {rywReads}, violations {violations.Count}");
            var slowest = writeLatencies.OrderByDescending(w => w.Seconds).First();
            var sorted = writeLatencies.Select(w => w.Seconds).Order().ToArray();
            output.WriteLine($"write latency p50 {sorted[sorted.Length / 2] * 1000:F0} ms, p99 {sorted[(int)(sorted.Length * 0.99)] * 1000:F0} ms, slowest {slowest.Seconds:F2} s (started at {slowest.At:F1} s); not acknowledged: {string.Join(" | ", unknownReasons)}");
            output.WriteLine($"searches: {history.Length}, failed {history.Count(s => !s.Ok)}; during the node loss {duringLoss.Length}, failed {duringLoss.Count(s => !s.Ok)} ({100.0 * duringLoss.Count(s => !s.Ok) / Math.Max(1, duringLoss.Length):F1}%), longest gap {longestLossGap:F2} s; longest gap overall {longestGap:F2} s");

            Assert.Empty(violations);
            Assert.True(acked.Count > 100, $"only {acked.Count} writes were acknowledged");
            Assert.All(counts, c => Assert.Equal(counts[0], c));
            Assert.InRange(counts[0], acked.Count, acked.Count + unknown.Count);
            // No read returned a point whose write was refused or never made.
            var neverWritten = seen.Keys.Where(id => !acked.ContainsKey(id) && !unknown.ContainsKey(id)).ToList();
            Assert.True(neverWritten.Count == 0, $"reads returned points never written: {string.Join(',', neverWritten.Take(10))}");
            Assert.True(duringLoss.Count(s => s.Ok) > 10, "searches stopped while the node was down");
            Assert.True(longestLossGap < 3, $"searches stalled {longestLossGap:F2} s while the node was down");
            await SendAsync(http, HttpMethod.Delete, new Uri(addresses[0], $"/collections/{name}"), null);

            async Task<(string Stream, string Leader)> LogLeaderAsync()
            {
                await using var nats = new NatsConnection(new NatsOpts { Url = fixture.Nats.Urls });
                await nats.ConnectAsync();
                var js = new NatsJSContext(nats);
                await foreach (var streamName in js.ListStreamNamesAsync())
                {
                    if (streamName.StartsWith("QUIVER_LOG_", StringComparison.Ordinal) && streamName.EndsWith("_0", StringComparison.Ordinal)
                        && await fixture.Nats.StreamLeaderAsync(streamName) is { } streamLeader)
                    {
                        return (streamName, streamLeader);
                    }
                }

                throw new InvalidOperationException("no shard log stream found");
            }
        }
        catch
        {
            // What each node logged: a cluster failure is rarely explained by the client side alone.
            output.WriteLine(NodeLogs());
            throw;
        }
    }

    [Fact]
    public async Task A_wiped_replica_starts_from_the_newest_snapshot_once_the_log_was_compacted()
    {
        try
        {
            var name = $"snap-{Guid.NewGuid():N}";
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
            var addresses = fixture.Nodes.Select(n => n.BaseAddress).ToArray();
            Assert.Equal(HttpStatusCode.OK, (await SendAsync(http, HttpMethod.Put, new Uri(addresses[0], $"/collections/{name}"), """{"vectors":{"size":4,"distance":"Dot"},"shard_number":3,"replication_factor":2}""")).Status);
            Assert.Equal(HttpStatusCode.OK, (await SendAsync(http, HttpMethod.Put, new Uri(addresses[0], $"/collections/{name}/index?wait=true"), """{"field_name":"g","field_schema":"integer"}""")).Status);
            for (var batch = 0; batch < 6; batch++)
            {
                var points = string.Join(',', Enumerable.Range(batch * 100, 100).Select(i => $$$"""{"id":{{{i}}},"vector":[{{{i % 7}}},1,2,3],"payload":{"g":{{{i % 5}}}}}"""));
                Assert.Equal(HttpStatusCode.OK, (await SendAsync(http, HttpMethod.Put, new Uri(addresses[batch % 3], $"/collections/{name}/points?wait=true"), $"{{\"points\":[{points}]}}")).Status);
            }

            Assert.Equal(HttpStatusCode.OK, (await SendAsync(http, HttpMethod.Post, new Uri(addresses[1], $"/collections/{name}/points/payload?wait=true"), """{"payload":{"tag":"x"},"filter":{"must":[{"key":"g","match":{"value":1}}]}}""")).Status);
            Assert.Equal(HttpStatusCode.OK, (await SendAsync(http, HttpMethod.Post, new Uri(addresses[2], $"/collections/{name}/points/delete?wait=true"), """{"points":[0,1,2]}""")).Status);

            // Every shard's log is compacted after its snapshot (the fixture snapshots every second).
            await using var nats = new NatsConnection(new NatsOpts { Url = fixture.Nats.Urls });
            await nats.ConnectAsync();
            var js = new NatsJSContext(nats);
            var meta = await new NATS.Client.KeyValueStore.NatsKVContext(js).GetStoreAsync("QUIVER_META");
            var record = System.Text.Json.Nodes.JsonNode.Parse((await meta.GetEntryAsync<byte[]>(Quiver.Cluster.JetStreamMetadataStore.Key("collections", name))).Value!)!;
            var uid = record["uid"]!.GetValue<string>();
            var compacted = Stopwatch.StartNew();
            while (true)
            {
                var firsts = new List<ulong>();
                for (var shard = 0; shard < 3; shard++)
                    firsts.Add((await js.GetStreamAsync($"QUIVER_LOG_{uid}_{shard}")).Info.State.FirstSeq);
                if (firsts.All(f => f > 1))
                    break;
                Assert.True(compacted.Elapsed < TimeSpan.FromSeconds(30), $"the logs were not compacted: first sequences {string.Join(", ", firsts)}");
                await Task.Delay(200);
            }

            // A node loses its whole storage and comes back: its replicas cannot replay the compacted logs from the start.
            // Placement hashes the (random) name, so a given node may hold none of the six replicas: take one that holds some.
            var held = new List<(int Shard, long Points)>[3];
            for (var n = 0; n < 3; n++)
                held[n] = await LocalShardsAsync(http, addresses[n], name);
            var node = Array.FindLastIndex(held, h => h.Count > 0);
            Assert.True(node >= 0, "no node holds a replica");
            var before = held[node];
            var storage = fixture.Nodes[node].StoragePath;
            await fixture.KillNodeAsync(node);
            Directory.Delete(storage, recursive: true);
            var restarted = await fixture.StartNodeAsync(node);
            var serving = Stopwatch.StartNew();
            while (!(await LocalShardsAsync(http, restarted.BaseAddress, name)).SequenceEqual(before))
            {
                Assert.True(serving.Elapsed < TimeSpan.FromSeconds(30), "the wiped node did not serve its shards again");
                await Task.Delay(200);
            }

            Assert.Contains("restored from its snapshot", restarted.Output, StringComparison.Ordinal);
            var ids = Enumerable.Range(0, 600).Select(i => (long)i).ToArray();
            var missing = await MissingAsync(http, restarted.BaseAddress, name, ids);
            Assert.Equal([0L, 1L, 2L], missing);
            var tagged = (await SendAsync(http, HttpMethod.Post, new Uri(restarted.BaseAddress, $"/collections/{name}/points/count?read_consistency=all"), """{"filter":{"must":[{"key":"tag","match":{"value":"x"}}]}}""")).Json!["result"]!["count"]!.GetValue<long>();
            // i % 5 == 1 for 120 of the ids; id 1 was deleted.
            Assert.Equal(119, tagged);

            // Resharding a collection whose logs were compacted starts each old shard's copy from its snapshot.
            addresses[node] = restarted.BaseAddress;
            var reshard = await SendAsync(http, HttpMethod.Post, new Uri(addresses[0], $"/collections/{name}/cluster"), """{"reshard":{"shard_number":5}}""");
            Assert.True(reshard.Status == HttpStatusCode.OK, reshard.Json?.ToJsonString());
            foreach (var address in addresses)
            {
                Assert.Equal([0L, 1L, 2L], await MissingAsync(http, address, name, ids));
                Assert.Equal(119, (await SendAsync(http, HttpMethod.Post, new Uri(address, $"/collections/{name}/points/count?read_consistency=all"), """{"filter":{"must":[{"key":"tag","match":{"value":"x"}}]}}""")).Json!["result"]!["count"]!.GetValue<long>());
                var info = (await SendAsync(http, HttpMethod.Get, new Uri(address, $"/collections/{name}/cluster"), null)).Json!["result"]!;
                Assert.Equal(5, info["shard_count"]!.GetValue<int>());
            }

            // The payload index came along (facets are counted from it): ids 0, 1 and 2 (g = 0, 1, 2) were deleted.
            var facet = (await SendAsync(http, HttpMethod.Post, new Uri(addresses[1], $"/collections/{name}/facet"), """{"key":"g"}""")).Json!["result"]!["hits"]!.AsArray();
            Assert.Equal("3:120,4:120,0:119,1:119,2:119", string.Join(',', facet.Select(h => $"{h!["value"]}:{h["count"]}")));

            await SendAsync(http, HttpMethod.Delete, new Uri(addresses[0], $"/collections/{name}"), null);
        }
        catch
        {
            // What each node logged: a cluster failure is rarely explained by the client side alone.
            output.WriteLine(NodeLogs());
            throw;
        }
    }

    private string NodeLogs() =>
        string.Join("\n\n", Enumerable.Range(0, 3).Select(n => fixture.NodeOutput(n) is { } log ? $"== {fixture.NodeId(n)}\n{log}" : $"== {fixture.NodeId(n)}: not running"));

    /// <summary>(shard, points) of the replicas a node holds, as GET /collections/{c}/cluster lists them.</summary>
    private static async Task<List<(int Shard, long Points)>> LocalShardsAsync(HttpClient http, Uri node, string name)
    {
        var reply = await SendAsync(http, HttpMethod.Get, new Uri(node, $"/collections/{name}/cluster"), null);
        if (reply.Status != HttpStatusCode.OK)
            return [];
        return [.. reply.Json!["result"]!["local_shards"]!.AsArray().Select(s => (s!["shard_id"]!.GetValue<int>(), s["points_count"]!.GetValue<long>())).OrderBy(s => s.Item1)];
    }

    private static async Task<List<long>> MissingAsync(HttpClient http, Uri node, string name, long[] ids)
    {
        var missing = new List<long>();
        foreach (var chunk in ids.Chunk(500))
        {
            var reply = await SendAsync(http, HttpMethod.Post, new Uri(node, $"/collections/{name}/points"), $"{{\"ids\":[{string.Join(',', chunk)}]}}", readConsistency: true);
            Assert.Equal(HttpStatusCode.OK, reply.Status);
            var got = reply.Json!["result"]!.AsArray().Select(p => p!["id"]!.GetValue<long>()).ToHashSet();
            missing.AddRange(chunk.Where(id => !got.Contains(id)));
        }

        return missing;
    }

    private sealed record Reply(HttpStatusCode Status, JsonNode? Json, System.Net.Http.Headers.HttpResponseHeaders Headers);

    private static async Task<Reply> SendAsync(HttpClient http, HttpMethod method, Uri uri, string? body, string? readAfter = null, bool readConsistency = false)
    {
        if (readConsistency)
            uri = new Uri(uri + (uri.Query.Length > 0 ? "&" : "?") + "read_consistency=all");
        using var request = new HttpRequestMessage(method, uri);
        if (body is not null)
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        if (readAfter is not null)
            request.Headers.Add("x-quiver-read-after", readAfter);
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        JsonNode? json = null;
        try
        {
            json = text.Length > 0 ? JsonNode.Parse(text) : null;
        }
        catch (System.Text.Json.JsonException)
        {
        }

        return new Reply(response.StatusCode, json, response.Headers);
    }
}
