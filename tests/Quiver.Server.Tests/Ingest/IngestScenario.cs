using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Quiver.Server.Tests.Infrastructure;

namespace Quiver.Server.Tests.Ingest;

/// <summary>
/// A reproducible stream of point events (upserts, payload updates, deletes over a small id space, so most ids
/// see several events) and the state a collection must hold after applying them in a given order.
/// </summary>
internal static class IngestScenario
{
    public const int Dim = 4;

    public static readonly object CollectionConfig = new { vectors = new { size = Dim, distance = "Euclid" } };

    /// <summary>Event JSON bodies; vectors are multiples of 1/8, exact in float32 and in JSON.</summary>
    public static List<byte[]> Events(int count, int ids, int seed)
    {
        var random = new Random(seed);
        var events = new List<byte[]>(count);
        for (var i = 0; i < count; i++)
        {
            var id = random.Next(ids);
            var roll = random.Next(100);
            JsonObject e = roll switch
            {
                < 80 => new JsonObject
                {
                    ["op"] = "upsert",
                    ["id"] = id,
                    ["vector"] = new JsonArray([.. Enumerable.Range(0, Dim).Select(_ => JsonValue.Create(random.Next(-64, 64) / 8.0))]),
                    ["payload"] = new JsonObject { ["event"] = i, ["tag"] = $"t{random.Next(10)}" },
                },
                < 90 => new JsonObject { ["op"] = "set_payload", ["id"] = id, ["payload"] = new JsonObject { ["touched"] = i } },
                _ => new JsonObject { ["op"] = "delete", ["id"] = id },
            };
            events.Add(Encoding.UTF8.GetBytes(e.ToJsonString()));
        }

        return events;
    }

    /// <summary>The final state after applying the events in order: id -> (vector, payload).</summary>
    public static Dictionary<long, (float[] Vector, JsonObject Payload)> Expected(IEnumerable<byte[]> ordered)
    {
        var state = new Dictionary<long, (float[] Vector, JsonObject Payload)>();
        foreach (var bytes in ordered)
        {
            var e = JsonNode.Parse(bytes)!.AsObject();
            var id = e["id"]!.GetValue<long>();
            switch (e["op"]!.GetValue<string>())
            {
                case "upsert":
                    state[id] = ([.. e["vector"]!.AsArray().Select(v => (float)v!.GetValue<double>())], e["payload"]!.AsObject());
                    break;
                case "set_payload":
                    // On a missing point this is refused (dead-lettered) and changes nothing.
                    if (state.TryGetValue(id, out var current))
                    {
                        var merged = (JsonObject)current.Payload.DeepClone();
                        foreach (var (key, value) in e["payload"]!.AsObject())
                            merged[key] = value?.DeepClone();
                        state[id] = (current.Vector, merged);
                    }

                    break;
                default:
                    state.Remove(id);
                    break;
            }
        }

        return state;
    }

    /// <summary>Asserts the collection holds exactly <paramref name="expected"/>: no point missing, extra or stale.</summary>
    public static async Task AssertHoldsAsync(RestClient rest, string collection, Dictionary<long, (float[] Vector, JsonObject Payload)> expected)
    {
        var count = (await rest.PostAsync($"/collections/{collection}/points/count", new { exact = true })).EnsureOk().Result["count"]!.GetValue<long>();
        Assert.Equal(expected.Count, count);
        var scroll = (await rest.PostAsync($"/collections/{collection}/points/scroll", new { limit = expected.Count + 10, with_payload = true, with_vector = true })).EnsureOk();
        var points = scroll.Result["points"]!.AsArray();
        Assert.Equal(expected.Count, points.Count);
        foreach (var p in points)
        {
            var id = p!["id"]!.GetValue<long>();
            Assert.True(expected.TryGetValue(id, out var want), $"point {id} should not exist");
            var vector = p["vector"]!.AsArray().Select(v => (float)v!.GetValue<double>()).ToArray();
            Assert.True(want.Vector.SequenceEqual(vector), $"point {id}: vector [{string.Join(',', vector)}], expected [{string.Join(',', want.Vector)}]");
            Assert.True(JsonNode.DeepEquals(want.Payload, p["payload"]), $"point {id}: payload {p["payload"]?.ToJsonString()}, expected {want.Payload.ToJsonString()}");
        }
    }

    /// <summary>Polls a connector's status until <paramref name="done"/> holds, or fails with the last status seen.</summary>
    public static async Task<JsonNode> WaitForConnectorAsync(RestClient rest, string name, Func<JsonNode, bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        JsonNode? last = null;
        while (DateTime.UtcNow < deadline)
        {
            var response = await rest.GetAsync($"/quiver/connectors/{name}");
            if (response.Status == System.Net.HttpStatusCode.OK)
            {
                last = response.Result["status"]!;
                if (done(last))
                    return last;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"connector {name} did not get there in {timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s; last status: {last?.ToJsonString()}");
    }
}
