namespace Quiver.Kernels.Tests.Kernels;

/// <summary>
/// <c>ScoreAtLeast</c>: the exact score, bit for bit, whenever it reaches the floor; a value below the floor
/// otherwise (the distance kernels stop early then).
/// </summary>
public sealed class ScoreAtLeastTests
{
    public static TheoryData<int> Lengths => [.. new[] { 1, 15, 16, 100, 255, 256, 257, 300, 511, 512, 784, 1000, 1536, 4099 }];

    private delegate float Bounded(ReadOnlySpan<float> a, ReadOnlySpan<float> b, float floor);

    private static void Check(Func<float[], float[], float> exact, Bounded bounded, int n, int seed)
    {
        var rng = new Random(seed);
        for (var trial = 0; trial < 20; trial++)
        {
            var a = TestVectors.Random(rng, n);
            var b = TestVectors.Random(rng, n);
            var score = exact(a, b);
            // Floors at, below and above the exact score; far above (stops at the first check) and -infinity.
            foreach (var floor in new[] { score, score - 1e-3f, score - 10f, float.NegativeInfinity })
                Assert.Equal(BitConverter.SingleToInt32Bits(score), BitConverter.SingleToInt32Bits(bounded(a, b, floor)));
            foreach (var floor in new[] { score + 1e-3f, score * 0.5f, score * 0.01f, 0f })
            {
                if (floor > score)
                    Assert.True(bounded(a, b, floor) < floor, $"n {n}: floor {floor}, exact {score}, got {bounded(a, b, floor)}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Squared_l2_every_width(int n)
    {
        Check((a, b) => NegSquaredL2Kernel.Score(a, b), NegSquaredL2Kernel.ScoreAtLeast, n, n);
        Check((a, b) => NegSquaredL2Kernel.ScoreVector512(a, b), NegSquaredL2Kernel.ScoreAtLeastVector512, n, n + 1);
        Check((a, b) => NegSquaredL2Kernel.ScoreVector256(a, b), NegSquaredL2Kernel.ScoreAtLeastVector256, n, n + 2);
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void L1_and_dot(int n)
    {
        Check((a, b) => NegL1Kernel.Score(a, b), NegL1Kernel.ScoreAtLeast, n, n + 3);
        Check((a, b) => DotKernel.Score(a, b), DotKernel.ScoreAtLeast, n, n + 4);
    }

    [Fact]
    public void A_far_row_is_rejected_and_a_mismatch_still_throws()
    {
        var a = new float[1024];
        var b = new float[1024];
        Array.Fill(b, 1f);
        // Exact squared distance 1024; any floor above -1024 rejects it.
        Assert.True(NegSquaredL2Kernel.ScoreAtLeast(a, b, -10f) < -10f);
        Assert.Equal(-1024f, NegSquaredL2Kernel.ScoreAtLeast(a, b, -1024f));
        // It stops at the first check: after 16 vectors (256 floats at 512 bits, 128 at 256 bits).
        Assert.Equal(-256f, NegSquaredL2Kernel.ScoreAtLeastVector512(a, b, -10f));
        Assert.Equal(-128f, NegSquaredL2Kernel.ScoreAtLeastVector256(a, b, -10f));
        Assert.Throws<ArgumentException>(() => NegSquaredL2Kernel.ScoreAtLeast(new float[300], new float[301], 0f));
        Assert.Throws<ArgumentException>(() => NegSquaredL2Kernel.ScoreAtLeastVector256(new float[300], new float[301], 0f));
    }
}
