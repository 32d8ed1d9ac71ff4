namespace Quiver.Kernels.Tests.Search;

public class TopKTests
{
    public static TheoryData<int, int, int> RandomCases()
    {
        var data = new TheoryData<int, int, int>();
        int[] ks = [1, 2, 3, 5, 10, 64, 100];
        foreach (var n in new[] { 0, 1, 5, 10, 100, 1000 })
        {
            foreach (var k in ks.Append(n).Append(n + 3).Distinct())
            {
                for (var distinctScores = 1; distinctScores <= 1000; distinctScores *= 10)
                {
                    data.Add(n, k, distinctScores);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(RandomCases))]
    public void Matches_sorting_with_ties(int n, int k, int distinctScores)
    {
        var rng = new Random((n * 31) + (k * 7) + distinctScores);

        // Distinct ids in random order; scores drawn from a small set so ties are common (including at the boundary).
        var ids = Enumerable.Range(0, n).Select(i => i * 3).OrderBy(_ => rng.Next()).ToArray();
        var items = ids.Select(id => new ScoredId(id, rng.Next(distinctScores) * 0.25f)).ToArray();

        var expected = items.OrderByDescending(x => x.Score).ThenBy(x => x.Id).Take(k).ToArray();

        var topk = new TopK(k);
        foreach (var item in items)
        {
            topk.TryAdd(item.Score, item.Id);
        }

        Assert.Equal(expected.Length, topk.Count);
        if (expected.Length == k && k > 0)
        {
            Assert.Equal(expected[^1].Score, topk.Threshold);
        }

        var result = new ScoredId[topk.Count];
        Assert.Equal(expected.Length, topk.DrainSortedDescending(result));
        Assert.Equal(expected, result);
        Assert.Equal(0, topk.Count);
    }

    [Fact]
    public void Result_does_not_depend_on_insertion_order()
    {
        var rng = new Random(5);
        var items = Enumerable.Range(0, 200).Select(i => new ScoredId(i, rng.Next(4))).ToArray();
        var topk = new TopK(17);
        ScoredId[]? first = null;
        for (var round = 0; round < 20; round++)
        {
            topk.Reset(17);
            foreach (var item in items.OrderBy(_ => rng.Next()))
            {
                topk.TryAdd(item.Score, item.Id);
            }

            var result = new ScoredId[17];
            topk.DrainSortedDescending(result);
            first ??= result;
            Assert.Equal(first, result);
        }
    }

    [Fact]
    public void Boundary_tie_keeps_smaller_id()
    {
        var topk = new TopK(1);
        Assert.True(topk.TryAdd(1f, 5));
        Assert.True(topk.TryAdd(1f, 3));
        Assert.False(topk.TryAdd(1f, 7));
        Assert.False(topk.TryAdd(1f, 3));
        Assert.False(topk.TryAdd(0.5f, 0));
        Assert.True(topk.TryAdd(2f, 9));

        Span<ScoredId> result = stackalloc ScoredId[1];
        topk.DrainSortedDescending(result);
        Assert.Equal(new ScoredId(9, 2f), result[0]);
    }

    [Fact]
    public void Threshold_is_negative_infinity_until_full()
    {
        var topk = new TopK(3);
        Assert.Equal(float.NegativeInfinity, topk.Threshold);
        topk.TryAdd(5f, 1);
        topk.TryAdd(1f, 2);
        Assert.Equal(float.NegativeInfinity, topk.Threshold);
        topk.TryAdd(3f, 3);
        Assert.Equal(1f, topk.Threshold);
        Assert.True(topk.TryAdd(4f, 4));
        Assert.Equal(3f, topk.Threshold);
        Assert.False(topk.TryAdd(2f, 5));
        Assert.Equal(3, topk.Count);
    }

    [Fact]
    public void Nan_is_never_kept_and_infinities_are_ordinary()
    {
        var topk = new TopK(3);
        Assert.False(topk.TryAdd(float.NaN, 1));
        Assert.True(topk.TryAdd(float.NegativeInfinity, 2));
        Assert.True(topk.TryAdd(float.PositiveInfinity, 3));
        Assert.True(topk.TryAdd(0f, 4));
        Assert.False(topk.TryAdd(float.NaN, 5));
        Assert.True(topk.TryAdd(1f, 6));

        var result = new ScoredId[3];
        topk.DrainSortedDescending(result);
        Assert.Equal([new(3, float.PositiveInfinity), new(6, 1f), new(4, 0f)], result);
    }

    [Fact]
    public void Zero_k_keeps_nothing()
    {
        var topk = new TopK(0);
        Assert.False(topk.TryAdd(float.MaxValue, 1));
        Assert.False(topk.TryAdd(float.PositiveInfinity, 1));
        Assert.Equal(0, topk.Count);
        Assert.Equal(0, topk.DrainSortedDescending([]));
    }

    [Fact]
    public void Reset_reuses_and_grows()
    {
        var topk = new TopK(2);
        topk.TryAdd(1f, 1);
        topk.TryAdd(2f, 2);
        topk.Reset(4);
        Assert.Equal(0, topk.Count);
        Assert.Equal(4, topk.K);
        for (var i = 0; i < 10; i++)
        {
            topk.TryAdd(i, i);
        }

        var result = new ScoredId[4];
        Assert.Equal(4, topk.DrainSortedDescending(result));
        Assert.Equal([9, 8, 7, 6], result.Select(r => r.Id));

        // After a drain it is empty and usable again with the same k.
        topk.TryAdd(1f, 1);
        Assert.Equal(1, topk.Count);
    }

    [Fact]
    public void Drain_into_short_destination_throws()
    {
        var topk = new TopK(3);
        topk.TryAdd(1f, 1);
        topk.TryAdd(2f, 2);
        Assert.Throws<ArgumentException>(() => topk.DrainSortedDescending(new ScoredId[1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TopK(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => topk.Reset(-1));
    }

    [Fact]
    public void No_allocation_once_warm()
    {
        var rng = new Random(3);
        var scores = Enumerable.Range(0, 10_000).Select(_ => (float)rng.NextDouble()).ToArray();
        var topk = new TopK(100);
        var result = new ScoredId[100];

        void Query()
        {
            topk.Reset(100);
            for (var i = 0; i < scores.Length; i++)
            {
                topk.TryAdd(scores[i], i);
            }

            topk.DrainSortedDescending(result);
        }

        Query();
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var q = 0; q < 10; q++)
        {
            Query();
        }

        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
    }
}
