using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Quiver.Server.Tests.Infrastructure;
using Quiver.Server.Tests.Rest;
using Xunit.Abstractions;

namespace Quiver.Server.Tests.Snapshots;

/// <summary>
/// Snapshots taken while a writer keeps changing the collection are recovered into a new collection (upload) and
/// into a fresh server (recover from the first server's URL), and must hold exactly the state after some prefix of
/// the writer's operations: one that includes every operation acknowledged before the snapshot was asked for, and
/// none sent after it was answered. Damaged snapshots are refused and change nothing.
/// </summary>
public sealed class SnapshotTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "quiver-snap-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root))
            Directory.Delete(_root, recursive: true);
    }

    private const int Dim = 8;
    private const string CreateBody = """
        {"vectors":{"size":8,"distance":"Euclid"},"optimizers_config":{"indexing_threshold":1},"hnsw_config":{"m":8,"ef_construct":32}}
        """;

    [Fact]
    public async Task Snapshot_under_concurrent_writes_recovers_a_consistent_prefix_into_a_new_collection_and_a_fresh_server()
    {
        await using var source = await ServerProcess.StartAsync(Path.Combine(_root, "a"), ["--flush-interval-sec", "1"]);
        using var client = new RestClient(source.BaseAddress);
        Api.Ok(await client.PutAsync("/collections/src", CreateBody));
        Api.Ok(await client.PutAsync("/collections/src/index?wait=true", """{"field_name":"tag","field_schema":"keyword"}"""));
        var random = new Random(20261126);
        var ops = new List<Op>();
        for (var i = 0; i < 30; i++)
        {
            var op = RandomOp(random, 2000, upsertsOnly: true);
            ops.Add(op);
            Api.Ok(await client.PutAsync("/collections/src/points?wait=true", op.Body));
        }

        // The writer: one operation at a time, each acknowledged (wait=true) before the next is sent.
        var acked = 0;
        var sent = 0;
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var op = RandomOp(random, 2000, upsertsOnly: false);
                lock (ops)
                    ops.Add(op);
                Interlocked.Increment(ref sent);
                var (method, path) = op.Route;
                Api.Ok(await client.SendAsync(method, path, op.Body));
                Interlocked.Increment(ref acked);
            }
        });

        await Task.Delay(1500);
        var ackedBefore = 30 + Volatile.Read(ref acked);
        var created = Api.Ok(await client.PostAsync("/collections/src/snapshots", "{}")).Result;
        var sentAfter = 30 + Volatile.Read(ref sent);
        await Task.Delay(500);
        await stop.CancelAsync();
        await writer;
        output.WriteLine($"snapshot {created.ToJsonString()} taken between op {ackedBefore} and {sentAfter} of {ops.Count}");
        Assert.True(sentAfter - ackedBefore < ops.Count - 30, "the writer kept writing through the snapshot");
        var name = created["name"]!.GetValue<string>();
        var checksum = created["checksum"]!.GetValue<string>();
        var listed = Api.Ok(await client.GetAsync("/collections/src/snapshots")).Result.AsArray();
        Assert.Equal(name, Assert.Single(listed)!["name"]!.GetValue<string>());

        var bytes = await DownloadAsync(source.BaseAddress, $"/collections/src/snapshots/{name}");
        Assert.Equal(created["size"]!.GetValue<long>(), bytes.Length);
        Assert.Equal(checksum, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)));

        // Into a new collection on the same server, by upload with the checksum.
        Api.Ok(await UploadAsync(source.BaseAddress, $"/collections/copy/snapshots/upload?checksum={checksum}", bytes));
        var copy = await ReadAllAsync(client, "copy");
        var matched = MatchingPrefix(ops, copy, ackedBefore, sentAfter);
        output.WriteLine($"the copy holds the state after op {matched} ({copy.Count} points)");
        var info = Api.Ok(await client.GetAsync("/collections/copy")).Result;
        Assert.Equal("keyword", info["payload_schema"]?["tag"]?["data_type"]?.GetValue<string>());
        Assert.Equal(8, info["config"]!["hnsw_config"]!["m"]!.GetValue<int>());

        // Into a fresh server, from the first server's download URL.
        await using var fresh = await ServerProcess.StartAsync(Path.Combine(_root, "b"));
        using var freshClient = new RestClient(fresh.BaseAddress);
        Api.Ok(await freshClient.PutAsync("/collections/restored/snapshots/recover",
            new JsonObject { ["location"] = new Uri(source.BaseAddress, $"/collections/src/snapshots/{name}").ToString(), ["checksum"] = checksum }));
        var restored = await ReadAllAsync(freshClient, "restored");
        Assert.Equal(matched, MatchingPrefix(ops, restored, matched, matched));

        // The restored collection takes writes that survive kill -9 (its log continues after the snapshot's
        // sequence, so the replay after the crash does not skip them as already applied).
        Api.Ok(await freshClient.PutAsync("/collections/restored/points?wait=true", """{"points":[{"id":99999,"vector":[1,2,3,4,5,6,7,8],"payload":{"tag":"after"}}]}"""));
        await fresh.KillAsync();
        await using var again = await ServerProcess.StartAsync(Path.Combine(_root, "b"));
        using var againClient = new RestClient(again.BaseAddress);
        var reloaded = await ReadAllAsync(againClient, "restored");
        Assert.Equal(restored.Count + 1, reloaded.Count);
        Assert.Equal("after", reloaded[99999].Tag);
    }

    [Fact]
    public async Task Damaged_snapshots_are_refused_with_a_clear_error_and_change_nothing()
    {
        await using var server = await ServerProcess.StartAsync(Path.Combine(_root, "a"));
        using var client = new RestClient(server.BaseAddress);
        Api.Ok(await client.PutAsync("/collections/good", CreateBody));
        var random = new Random(7);
        for (var i = 0; i < 20; i++)
            Api.Ok(await client.PutAsync("/collections/good/points?wait=true", RandomOp(random, 500, upsertsOnly: true).Body));
        var name = Api.Ok(await client.PostAsync("/collections/good/snapshots", "{}")).Result["name"]!.GetValue<string>();
        var bytes = await DownloadAsync(server.BaseAddress, $"/collections/good/snapshots/{name}");
        var before = await ReadAllAsync(client, "good");

        var damaged = new List<(string Case, byte[] Bytes, string Query)>();
        foreach (var at in new[] { 100, 700, bytes.Length / 2, bytes.Length - 2000, bytes.Length - 10 })
        {
            var flipped = (byte[])bytes.Clone();
            flipped[at] ^= 0x40;
            damaged.Add(($"byte {at} flipped", flipped, string.Empty));
        }

        damaged.Add(("cut short", bytes[..(bytes.Length / 2)], string.Empty));
        damaged.Add(("empty", Array.Empty<byte>(), string.Empty));
        damaged.Add(("not a snapshot", Encoding.UTF8.GetBytes(new string('x', 5000)), string.Empty));
        damaged.Add(("wrong checksum", bytes, "?checksum=" + new string('0', 64)));
        foreach (var (label, body, query) in damaged)
        {
            var response = await UploadAsync(server.BaseAddress, $"/collections/good/snapshots/upload{query}", body);
            Assert.True(response.Status == HttpStatusCode.BadRequest, $"{label}: {(int)response.Status} {response.Text}");
            Assert.Matches("damaged|checksum mismatch", response.Error);
            Assert.Contains("Nothing was changed", response.Error, StringComparison.Ordinal);
            Assert.Equal(before, await ReadAllAsync(client, "good"));
        }

        // A damaged snapshot recovered under a new name does not create it.
        var refused = await UploadAsync(server.BaseAddress, "/collections/never/snapshots/upload", damaged[2].Bytes);
        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/collections/never")).Status);
        // The file's actual checksum is not echoed (it would make the error an oracle for files' hashes).
        var mismatch = await UploadAsync(server.BaseAddress, $"/collections/good/snapshots/upload?checksum={new string('0', 64)}", bytes);
        Assert.DoesNotContain(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)), mismatch.Text, StringComparison.Ordinal);

        // file:// locations must stay inside the snapshots folder, links included.
        var snapshots = Path.Combine(_root, "a", "snapshots");
        File.CreateSymbolicLink(Path.Combine(snapshots, "outside"), "/etc");
        foreach (var location in new[] { "file:///etc/passwd", $"file://{snapshots}/outside/passwd", $"file://{snapshots}/../collections/good/config.qcf" })
        {
            var outside = await client.PutAsync("/collections/good/snapshots/recover", new JsonObject { ["location"] = location });
            Assert.True(outside.Status == HttpStatusCode.BadRequest, $"{location}: {(int)outside.Status} {outside.Text}");
            Assert.Contains("not inside the snapshots folder", outside.Error, StringComparison.Ordinal);
        }

        // And the intact one still recovers, from its own folder too.
        Api.Ok(await UploadAsync(server.BaseAddress, "/collections/good/snapshots/upload", bytes));
        Assert.Equal(before, await ReadAllAsync(client, "good"));
        Api.Ok(await client.PutAsync("/collections/good/snapshots/recover", new JsonObject { ["location"] = $"file://{snapshots}/good/{name}" }));
        Assert.Equal(before, await ReadAllAsync(client, "good"));

        // wait=false answers 202 at once and the snapshot appears when it is written.
        var accepted = await client.PostAsync("/collections/good/snapshots?wait=false", "{}");
        Assert.Equal(HttpStatusCode.Accepted, accepted.Status);
        Assert.Equal("accepted", accepted.Json!["status"]!.GetValue<string>());
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (Api.Ok(await client.GetAsync("/collections/good/snapshots")).Result.AsArray().Count < 2)
        {
            Assert.True(DateTime.UtcNow < deadline, "the background snapshot never appeared");
            await Task.Delay(50);
        }

        // A collection's snapshots go with it: a new collection of the same name does not inherit them.
        Api.Ok(await client.DeleteAsync("/collections/good"));
        Api.Ok(await client.PutAsync("/collections/good", CreateBody));
        Assert.Empty(Api.Ok(await client.GetAsync("/collections/good/snapshots")).Result.AsArray());
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/collections/good/snapshots/{name}")).Status);
    }

    [Fact]
    public async Task Full_storage_snapshot_restores_every_collection_and_alias_into_a_fresh_server()
    {
        await using var server = await ServerProcess.StartAsync(Path.Combine(_root, "a"));
        using var client = new RestClient(server.BaseAddress);
        var random = new Random(11);
        var expected = new Dictionary<string, Dictionary<ulong, PointState>>();
        foreach (var collection in new[] { "one", "two" })
        {
            Api.Ok(await client.PutAsync($"/collections/{collection}", CreateBody));
            for (var i = 0; i < 10; i++)
                Api.Ok(await client.PutAsync($"/collections/{collection}/points?wait=true", RandomOp(random, 300, upsertsOnly: true).Body));
            expected[collection] = await ReadAllAsync(client, collection);
        }

        Api.Ok(await client.PostAsync("/collections/aliases", """{"actions":[{"create_alias":{"alias_name":"first","collection_name":"one"}}]}"""));
        var snapshot = Api.Ok(await client.PostAsync("/snapshots", "{}")).Result;
        var name = snapshot["name"]!.GetValue<string>();
        Assert.Contains(Api.Ok(await client.GetAsync("/snapshots")).Result.AsArray(), s => s!["name"]!.GetValue<string>() == name);
        var file = Path.Combine(_root, name);
        await File.WriteAllBytesAsync(file, await DownloadAsync(server.BaseAddress, $"/snapshots/{name}"));

        await using var fresh = await ServerProcess.StartAsync(Path.Combine(_root, "b"), ["--storage-snapshot", file]);
        using var freshClient = new RestClient(fresh.BaseAddress);
        foreach (var (collection, points) in expected)
            Assert.Equal(points, await ReadAllAsync(freshClient, collection));
        Assert.Equal(expected["one"], await ReadAllAsync(freshClient, "first"));

        // A restart with the flag still set does not roll the data back.
        Api.Ok(await freshClient.DeleteAsync("/collections/two"));
        Assert.Equal(0, await fresh.StopAsync());
        await using var again = await ServerProcess.StartAsync(Path.Combine(_root, "b"), ["--storage-snapshot", file]);
        using var againClient = new RestClient(again.BaseAddress);
        Assert.Equal(HttpStatusCode.NotFound, (await againClient.GetAsync("/collections/two")).Status);
        Assert.Contains("already restored", again.Output, StringComparison.Ordinal);

        Api.Ok(await client.DeleteAsync($"/snapshots/{name}"));
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/snapshots/{name}")).Status);
    }

    private sealed record PointState(float[] Vector, string Tag)
    {
        public bool Equals(PointState? other) => other is not null && Tag == other.Tag && Vector.AsSpan().SequenceEqual(other.Vector);

        public override int GetHashCode() => Tag.GetHashCode(StringComparison.Ordinal);
    }

    /// <summary>A write and what it does to the expected state.</summary>
    private sealed record Op((HttpMethod Method, string Path) Route, string Body, Action<Dictionary<ulong, PointState>> Apply);

    private static Op RandomOp(Random random, int idSpace, bool upsertsOnly)
    {
        var kind = upsertsOnly ? 0 : random.Next(10);
        var ids = Enumerable.Range(0, random.Next(1, 12)).Select(_ => (ulong)random.Next(1, idSpace)).Distinct().ToArray();
        var tag = "t" + random.Next(1_000_000).ToString(CultureInfo.InvariantCulture);
        JsonArray IdList() => [.. ids.Select(id => (JsonNode)id)];
        switch (kind)
        {
            case 8:
                return new Op((HttpMethod.Post, "/collections/src/points/delete?wait=true"), new JsonObject { ["points"] = IdList() }.ToJsonString(), state =>
                {
                    foreach (var id in ids)
                        state.Remove(id);
                });
            case 9:
                // A batch: upsert the ids, then set their tag (set_payload needs the points to exist).
                var flat = Enumerable.Repeat(0.5f, Dim).ToArray();
                var batch = new JsonObject
                {
                    ["operations"] = new JsonArray(
                        new JsonObject { ["upsert"] = new JsonObject { ["points"] = Points(ids.Select(id => (id, flat)), "x") } },
                        new JsonObject { ["set_payload"] = new JsonObject { ["points"] = IdList(), ["payload"] = new JsonObject { ["tag"] = tag } } }),
                };
                return new Op((HttpMethod.Post, "/collections/src/points/batch?wait=true"), batch.ToJsonString(), state =>
                {
                    foreach (var id in ids)
                        state[id] = new PointState(flat, tag);
                });
            default:
                var points = ids.Select(id => (id, Enumerable.Range(0, Dim).Select(_ => (float)Math.Round(random.NextDouble() * 10, 3)).ToArray())).ToArray();
                return new Op((HttpMethod.Put, "/collections/src/points?wait=true"), new JsonObject { ["points"] = Points(points, tag) }.ToJsonString(), state =>
                {
                    foreach (var (id, vector) in points)
                        state[id] = new PointState(vector, tag);
                });
        }
    }

    private static JsonArray Points(IEnumerable<(ulong Id, float[] Vector)> points, string tag) =>
        [.. points.Select(p => (JsonNode)new JsonObject
        {
            ["id"] = p.Id,
            ["vector"] = new JsonArray([.. p.Vector.Select(v => (JsonNode)v)]),
            ["payload"] = new JsonObject { ["tag"] = tag },
        })];

    /// <summary>The number of leading operations whose result equals <paramref name="actual"/>, searched in [from, to].</summary>
    private static int MatchingPrefix(List<Op> ops, Dictionary<ulong, PointState> actual, int from, int to)
    {
        var state = new Dictionary<ulong, PointState>();
        for (var i = 0; i <= Math.Min(to, ops.Count); i++)
        {
            // Here state is the result of the first i operations.
            if (i >= from && Same(state, actual))
                return i;
            if (i < ops.Count)
                ops[i].Apply(state);
        }

        Assert.Fail($"the recovered points ({actual.Count}) match no state between operation {from} and {to}");
        return -1;
    }

    private static bool Same(Dictionary<ulong, PointState> a, Dictionary<ulong, PointState> b) =>
        a.Count == b.Count && a.All(p => b.TryGetValue(p.Key, out var other) && other.Equals(p.Value));

    private static async Task<Dictionary<ulong, PointState>> ReadAllAsync(RestClient client, string collection)
    {
        var points = new Dictionary<ulong, PointState>();
        JsonNode? offset = null;
        do
        {
            var body = new JsonObject { ["limit"] = 1000, ["with_vector"] = true, ["with_payload"] = true };
            if (offset is not null)
                body["offset"] = offset.DeepClone();
            var page = Api.Ok(await client.PostAsync($"/collections/{collection}/points/scroll", body)).Result;
            foreach (var p in page["points"]!.AsArray())
                points[p!["id"]!.GetValue<ulong>()] = new PointState([.. p["vector"]!.AsArray().Select(v => v!.GetValue<float>())], p["payload"]!["tag"]!.GetValue<string>());
            offset = page["next_page_offset"];
        }
        while (offset is not null && offset.GetValueKind() != System.Text.Json.JsonValueKind.Null);
        return points;
    }

    private static async Task<byte[]> DownloadAsync(Uri server, string path)
    {
        using var http = new HttpClient { BaseAddress = server };
        using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadAsByteArrayAsync();
    }

    private static async Task<RestResponse> UploadAsync(Uri server, string path, byte[] snapshot)
    {
        using var http = new HttpClient { BaseAddress = server, Timeout = TimeSpan.FromSeconds(60) };
        using var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(snapshot);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        form.Add(file, "snapshot", "upload.snapshot");
        using var response = await http.PostAsync(new Uri(path, UriKind.Relative), form);
        var text = await response.Content.ReadAsStringAsync();
        return new RestResponse(response.StatusCode, text.Length > 0 ? JsonNode.Parse(text) : null, text);
    }
}
