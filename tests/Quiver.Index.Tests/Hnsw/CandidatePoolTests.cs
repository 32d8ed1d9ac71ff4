using Quiver.Index.Internal;
using Quiver.Kernels;

namespace Quiver.Index.Tests.Hnsw;

public sealed class CandidatePoolTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(50)]
    [InlineData(64)]
    [InlineData(100)]
    public void Matches_a_sorted_list_model_through_inserts_and_expansions(int capacity)
    {
        var random = new Random(capacity);
        var pool = new CandidatePool();
        // Reused across rounds with other capacities first: stale slots must not leak into a smaller pool.
        pool.Begin(capacity * 3);
        for (var i = 0; i < capacity * 3; i++)
            pool.Insert(i, 1000f + i);

        for (var round = 0; round < 20; round++)
        {
            pool.Begin(capacity);
            var model = new List<(int Id, float Score, bool Expanded)>();
            for (var op = 0; op < 400; op++)
            {
                if (random.Next(4) == 0)
                {
                    var slot = pool.NextUnexpanded();
                    var expected = model.FindIndex(e => !e.Expanded);
                    Assert.Equal(expected, slot);
                    if (slot >= 0)
                    {
                        Assert.Equal(model[slot].Id, pool.IdAt(slot));
                        Assert.Equal(model[slot].Score, pool.ScoreAt(slot));
                        pool.MarkExpanded(slot);
                        model[slot] = model[slot] with { Expanded = true };
                    }

                    continue;
                }

                // Few distinct scores, so ties are common; negative, signed zero, infinite and NaN scores included.
                var score = random.Next(24) switch
                {
                    0 => float.NegativeInfinity,
                    1 => float.PositiveInfinity,
                    2 => float.NaN,
                    3 => -0f,
                    var v => (v - 12) / 4f,
                };
                var id = random.Next(1 << 24);
                var full = model.Count == capacity;
                var accepted = pool.Insert(id, score);
                Assert.Equal(!full || Rank(score).CompareTo(Rank(model[^1].Score)) > 0, accepted);
                if (accepted)
                {
                    var position = model.Count(e => Rank(e.Score).CompareTo(Rank(score)) >= 0);
                    model.Insert(position, (id, score, false));
                    if (model.Count > capacity)
                        model.RemoveAt(capacity);
                }

                Assert.Equal(model.Count, pool.Count);
                Assert.Equal(model.Count == capacity, pool.IsFull);
                Assert.Equal(model[^1].Score, pool.WorstScore);
            }

            var copied = new ScoredId[capacity + 5];
            Assert.Equal(model.Count, pool.CopyBestFirst(copied));
            Assert.Equal(model.Select(e => new ScoredId(e.Id, e.Score)), copied.Take(model.Count));
            var few = new ScoredId[Math.Max(1, capacity / 2)];
            Assert.Equal(Math.Min(few.Length, model.Count), pool.CopyBestFirst(few));
            Assert.Equal(model.Take(few.Length).Select(e => e.Id), few.Take(Math.Min(few.Length, model.Count)).Select(e => e.Id));
        }
    }

    /// <summary>The pool's order: NaN below everything, then scores, with -0 below +0.</summary>
    private static (int, float, int) Rank(float score) =>
        float.IsNaN(score) ? (0, 0f, 0) : (1, score, float.IsNegative(score) ? 0 : 1);

    [Fact]
    public void An_insert_before_the_expanded_front_is_expanded_next()
    {
        var pool = new CandidatePool();
        pool.Begin(4);
        pool.Insert(1, 0.9f);
        pool.Insert(2, 0.5f);
        var first = pool.NextUnexpanded();
        Assert.Equal(1, pool.IdAt(first));
        pool.MarkExpanded(first);
        Assert.Equal(2, pool.IdAt(pool.NextUnexpanded()));
        pool.Insert(3, 0.95f);
        var next = pool.NextUnexpanded();
        Assert.Equal(0, next);
        Assert.Equal(3, pool.IdAt(next));
        pool.MarkExpanded(next);
        Assert.Equal(2, pool.IdAt(pool.NextUnexpanded()));
        pool.MarkExpanded(pool.NextUnexpanded());
        Assert.Equal(-1, pool.NextUnexpanded());
    }

    [Fact]
    public void Largest_ids_round_trip()
    {
        var pool = new CandidatePool();
        pool.Begin(2);
        pool.Insert(int.MaxValue, -1f);
        pool.Insert(0, -2f);
        pool.MarkExpanded(pool.NextUnexpanded());
        Assert.Equal(int.MaxValue, pool.IdAt(0));
        Assert.Equal(-1f, pool.ScoreAt(0));
        Assert.Equal(0, pool.IdAt(pool.NextUnexpanded()));
    }

    [Fact]
    public void A_capacity_below_one_is_refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new CandidatePool().Begin(0));
}
