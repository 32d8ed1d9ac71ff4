namespace Quiver.Cluster.Tests;

/// <summary>Rendezvous placement: deterministic, distinct replicas, balanced, and minimal movement on membership change.</summary>
public sealed class PlacementTests
{
    private static readonly string[] Nodes = ["node-a", "node-b", "node-c", "node-d", "node-e"];

    [Fact]
    public void Every_shard_gets_distinct_replicas_and_the_answer_does_not_depend_on_member_order()
    {
        var placement = Placement.Assign("docs", 64, 2, Nodes);
        var shuffled = Placement.Assign("docs", 64, 2, [.. Nodes.Reverse()]);
        for (var shard = 0; shard < 64; shard++)
        {
            Assert.Equal(2, placement[shard].Count);
            Assert.Equal(2, placement[shard].Distinct().Count());
            Assert.Equal(placement[shard], shuffled[shard]);
        }

        // Fewer members than replicas: every member, once.
        Assert.Equal(["node-a"], Placement.Assign("docs", 1, 3, ["node-a"])[0]);
        // Another collection places its shards independently.
        Assert.NotEqual(
            placement.Select(p => string.Join(",", p)),
            Placement.Assign("other", 64, 2, Nodes).Select(p => string.Join(",", p)));
    }

    [Fact]
    public void Load_is_spread_evenly_over_the_members()
    {
        var placement = Placement.Assign("docs", 600, 2, Nodes);
        var load = Nodes.ToDictionary(n => n, n => placement.Count(p => p.Contains(n)));
        // 1,200 replicas over 5 nodes: 240 each on average; hashing keeps every node within a fifth of that.
        Assert.All(load.Values, n => Assert.InRange(n, 192, 288));
    }

    [Fact]
    public void A_member_leaving_moves_only_its_own_replicas_and_a_member_joining_only_takes_replicas()
    {
        var before = Placement.Assign("docs", 200, 2, Nodes);
        var after = Placement.Assign("docs", 200, 2, [.. Nodes.Where(n => n != "node-c")]);
        for (var shard = 0; shard < 200; shard++)
        {
            if (!before[shard].Contains("node-c"))
            {
                Assert.Equal(before[shard], after[shard]);
            }
            else
            {
                // The surviving replica stays; only node-c's place is taken by the next heaviest member.
                var survivor = Assert.Single(before[shard], n => n != "node-c");
                Assert.Contains(survivor, after[shard]);
            }
        }

        var joined = Placement.Assign("docs", 200, 2, [.. Nodes, "node-f"]);
        for (var shard = 0; shard < 200; shard++)
            Assert.DoesNotContain(joined[shard].Except(before[shard]), n => n != "node-f");
    }

    [Fact]
    public void Weights_are_stable_across_processes_and_separate_their_inputs()
    {
        // Fixed values (worked out independently of this code): a change to the hash would move every shard of every
        // running cluster, and nodes of two versions would disagree.
        Assert.Equal(14404761212688240579UL, Placement.Weight("docs", 0, "node-a"));
        Assert.Equal(16393082093613923143UL, Placement.Weight("docs", 7, "node-b"));
        Assert.NotEqual(Placement.Weight("ab", 0, "c"), Placement.Weight("a", 0, "bc"));
        Assert.NotEqual(Placement.Weight("docs", 1, "node-a"), Placement.Weight("docs", 0, "node-a"));
    }
}
