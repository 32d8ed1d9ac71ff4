namespace Quiver.Kernels.Tests.Search;

public class ExactScanTests
{
    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(3, 50, 5)]
    [InlineData(17, 300, 10)]
    [InlineData(100, 1000, 10)]
    [InlineData(384, 257, 100)]
    [InlineData(784, 64, 64)]
    [InlineData(8, 20, 50)]
    public void Matches_brute_force(int dim, int rowCount, int k)
    {
        Check<DotKernel>(dim, rowCount, k, idOffset: 0);
        Check<NegSquaredL2Kernel>(dim, rowCount, k, idOffset: 1000);
        Check<NegL1Kernel>(dim, rowCount, k, idOffset: 7);
    }

    [Fact]
    public void Ties_keep_smaller_ids_across_calls()
    {
        // The same block scanned twice into one collector, higher ids first: every score appears twice, and an
        // odd k puts a tie on the boundary, where the copy with the smaller id must win.
        var rows = TestVectors.Random(new Random(1), 4 * 10);
        var query = TestVectors.Random(new Random(2), 4);
        var topk = new TopK(7);
        ExactScan.Scan<DotKernel>(query, rows, 4, topk, idOffset: 100);
        ExactScan.Scan<DotKernel>(query, rows, 4, topk, idOffset: 0);

        var result = new ScoredId[7];
        topk.DrainSortedDescending(result);
        for (var i = 0; i < 6; i += 2)
        {
            Assert.Equal(result[i].Score, result[i + 1].Score);
            Assert.Equal(result[i].Id + 100, result[i + 1].Id);
        }

        Assert.InRange(result[6].Id, 0, 9);
    }

    [Fact]
    public void Empty_rows_add_nothing()
    {
        var topk = new TopK(3);
        ExactScan.Scan<DotKernel>(new float[4], [], 4, topk);
        Assert.Equal(0, topk.Count);
    }

    [Fact]
    public void Rejects_bad_shapes()
    {
        var topk = new TopK(3);
        Assert.Throws<ArgumentException>(() => ExactScan.Scan<DotKernel>(new float[3], new float[8], 4, topk));
        Assert.Throws<ArgumentException>(() => ExactScan.Scan<DotKernel>(new float[4], new float[9], 4, topk));
        Assert.Throws<ArgumentOutOfRangeException>(() => ExactScan.Scan<DotKernel>([], [], 0, topk));
        Assert.Throws<ArgumentOutOfRangeException>(() => ExactScan.Scan<DotKernel>(new float[4], new float[8], 4, topk, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ExactScan.Scan<DotKernel>(new float[4], new float[8], 4, topk, int.MaxValue));
        Assert.Throws<ArgumentNullException>(() => ExactScan.Scan<DotKernel>(new float[4], new float[8], 4, null!));
    }

    private static void Check<TKernel>(int dim, int rowCount, int k, int idOffset)
        where TKernel : struct, IScoreKernel
    {
        var rng = new Random((dim * 13) + rowCount);
        var rows = TestVectors.Random(rng, dim * rowCount);
        var query = TestVectors.Random(rng, dim);

        var expected = Enumerable.Range(0, rowCount)
            .Select(i => new ScoredId(idOffset + i, TKernel.Score(query, rows.AsSpan(i * dim, dim))))
            .OrderByDescending(x => x.Score)
            .ThenBy(x => x.Id)
            .Take(k)
            .ToArray();

        var topk = new TopK(k);
        ExactScan.Scan<TKernel>(query, rows, dim, topk, idOffset);
        var result = new ScoredId[topk.Count];
        topk.DrainSortedDescending(result);
        Assert.Equal(expected, result);
    }
}
