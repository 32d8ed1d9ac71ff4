using System.Text;

namespace Quiver.Cluster;

/// <summary>
/// Which nodes host which shards: rendezvous (highest random weight) hashing. For each shard every live member gets
/// a pseudo-random weight from (collection, shard, member), and the <c>replication_factor</c> heaviest host it.
/// Every node computes the same answer from the same membership, with no coordinator, and when a member leaves only
/// the shards it hosted move (each to the next heaviest member); when one joins, a shard moves only to the newcomer.
/// </summary>
public static class Placement
{
    /// <summary>
    /// The replicas of each shard (index = shard id), heaviest first; fewer than <paramref name="replicationFactor"/>
    /// when there are fewer members. Members are node ids; their order does not matter.
    /// </summary>
    public static IReadOnlyList<string>[] Assign(string collection, int shards, int replicationFactor, IReadOnlyCollection<string> members)
    {
        ArgumentNullException.ThrowIfNull(collection);
        ArgumentNullException.ThrowIfNull(members);
        ArgumentOutOfRangeException.ThrowIfLessThan(shards, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(replicationFactor, 1);
        var distinct = members.Distinct(StringComparer.Ordinal).ToArray();
        var result = new IReadOnlyList<string>[shards];
        for (var shard = 0; shard < shards; shard++)
        {
            var s = shard;
            result[shard] = [.. distinct
                .OrderByDescending(member => Weight(collection, s, member))
                .ThenBy(member => member, StringComparer.Ordinal)
                .Take(replicationFactor)];
        }

        return result;
    }

    /// <summary>
    /// A stable 64-bit weight of (collection, shard, member): FNV-1a over the UTF-8 bytes, then a SplitMix64
    /// finaliser so weights of nearby inputs are unrelated. Stable across processes and versions (unlike
    /// <see cref="string.GetHashCode()"/>), which every node relies on to agree.
    /// </summary>
    public static ulong Weight(string collection, int shard, string member)
    {
        ArgumentNullException.ThrowIfNull(collection);
        ArgumentNullException.ThrowIfNull(member);
        var h = 14695981039346656037UL;
        void Mix(ReadOnlySpan<byte> bytes)
        {
            foreach (var b in bytes)
            {
                h ^= b;
                h *= 1099511628211UL;
            }

            // A separator no UTF-8 string contains, so ("ab", "c") and ("a", "bc") differ.
            h ^= 0xFF;
            h *= 1099511628211UL;
        }

        Mix(Encoding.UTF8.GetBytes(collection));
        Mix(BitConverter.GetBytes(shard));
        Mix(Encoding.UTF8.GetBytes(member));
        h += 0x9E3779B97F4A7C15UL;
        h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9UL;
        h = (h ^ (h >> 27)) * 0x94D049BB133111EBUL;
        return h ^ (h >> 31);
    }
}
