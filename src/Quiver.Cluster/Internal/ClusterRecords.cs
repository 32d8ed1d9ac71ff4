using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Quiver.Cluster.Internal;

/// <summary>A collection as the metadata store holds it: a unique id per incarnation (it names the shard logs) and its configuration.</summary>
internal sealed record CollectionRecord(
    [property: JsonPropertyName("uid")] string Uid,
    [property: JsonPropertyName("config")] JsonObject Config,
    [property: JsonPropertyName("resharding")] ReshardingRecord? Resharding = null);

/// <summary>A resharding in progress: the new incarnation's logs being filled from the old ones.</summary>
internal sealed record ReshardingRecord(
    [property: JsonPropertyName("uid")] string Uid,
    [property: JsonPropertyName("shard_number")] int ShardNumber);

/// <summary>What a node advertises in its membership key: where to reach it, and the shards it serves (caught up), per collection uid.</summary>
internal sealed record MemberState(
    [property: JsonPropertyName("url")] string Url,
    [property: JsonPropertyName("ready")] Dictionary<string, int[]> Ready,
    [property: JsonPropertyName("applied")] Dictionary<string, ulong>? Applied = null);

/// <summary>The body of an internal wait: until this node's replica of the shard applied the sequence.</summary>
internal sealed record WaitRequest(
    [property: JsonPropertyName("collection")] string Collection,
    [property: JsonPropertyName("shard")] int Shard,
    [property: JsonPropertyName("sequence")] ulong Sequence,
    [property: JsonPropertyName("incarnation")] string Incarnation);

[JsonSerializable(typeof(CollectionRecord))]
[JsonSerializable(typeof(MemberState))]
[JsonSerializable(typeof(WaitRequest))]
internal sealed partial class ClusterJsonContext : JsonSerializerContext;
