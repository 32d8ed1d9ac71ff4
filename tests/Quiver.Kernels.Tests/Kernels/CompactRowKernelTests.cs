using Quiver.Kernels.Internal;

namespace Quiver.Kernels.Tests.Kernels;

/// <summary>
/// Kernels over rows stored as float16 or uint8 (datatype): each width of the cascade widens every stored value to
/// exactly the float32 it stands for, and scores match a double-precision reference over those values.
/// </summary>
public class CompactRowKernelTests
{
    public enum Metric
    {
        Dot,
        NegSquaredL2,
        NegL1,
    }

    /// <summary>0 is the scalar loop; the others start at that width and fall back to the narrower ones for tails.</summary>
    public static readonly TheoryData<int> Widths = new([0, 128, 256, 512]);

    [Theory]
    [MemberData(nameof(Widths))]
    public void Every_finite_half_widens_to_its_exact_float(int width)
    {
        // All 63,488 finite bit patterns (both signs, zeros and subnormals included) as one row against a query of
        // ones: a dot product at one position at a time is the value itself.
        var halves = Enumerable.Range(0, 1 << 16).Select(bits => BitConverter.UInt16BitsToHalf((ushort)bits)).Where(Half.IsFinite).ToArray();
        var one = new float[16];
        var row = new Half[16];
        for (var i = 0; i < halves.Length; i++)
        {
            Array.Clear(one);
            var position = i % 16;
            one[position] = 1f;
            Array.Fill(row, Half.Zero);
            row[position] = halves[i];
            var widened = WidenedReduce<Half, HalfWidening>.ReduceAt<DotOp>(one, row, width);
            Assert.True(BitConverter.SingleToInt32Bits(widened) == BitConverter.SingleToInt32Bits((float)halves[i]) || (widened == 0 && (float)halves[i] == 0),
                $"width {width}: half 0x{BitConverter.HalfToUInt16Bits(halves[i]):X4} widened to {widened}, expected {(float)halves[i]}");
        }
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void Half_rows_score_as_their_float_values(int width)
    {
        var rng = new Random(17);
        foreach (var dim in TestVectors.Dims)
        {
            var query = TestVectors.Random(rng, dim, 3f);
            // Values across the range: tiny (subnormal halves), ordinary, and large.
            var values = Enumerable.Range(0, dim).Select(i => (float)((rng.NextDouble() * 2) - 1) * (i % 3 == 0 ? 1e-5f : i % 3 == 1 ? 1f : 3000f)).ToArray();
            var row = values.Select(v => (Half)v).ToArray();
            var exact = row.Select(h => (double)(float)h).ToArray();
            foreach (var metric in Enum.GetValues<Metric>())
            {
                var expected = Reference(metric, query, exact);
                var actual = metric switch
                {
                    Metric.Dot => WidenedReduce<Half, HalfWidening>.ReduceAt<DotOp>(query, row, width),
                    Metric.NegSquaredL2 => -WidenedReduce<Half, HalfWidening>.ReduceAt<SquaredDiffOp>(query, row, width),
                    _ => -WidenedReduce<Half, HalfWidening>.ReduceAt<AbsDiffOp>(query, row, width),
                };
                AssertClose(expected, actual, Scale(metric, query, exact), $"float16 {metric} width {width} dim {dim}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void Byte_rows_score_as_their_integer_values(int width)
    {
        var rng = new Random(23);
        foreach (var dim in TestVectors.Dims)
        {
            var query = TestVectors.Random(rng, dim, 200f);
            var row = TestVectors.RandomBytes(rng, dim);
            var exact = row.Select(b => (double)b).ToArray();
            foreach (var metric in Enum.GetValues<Metric>())
            {
                var expected = Reference(metric, query, exact);
                var actual = metric switch
                {
                    Metric.Dot => WidenedReduce<byte, ByteWidening>.ReduceAt<DotOp>(query, row, width),
                    Metric.NegSquaredL2 => -WidenedReduce<byte, ByteWidening>.ReduceAt<SquaredDiffOp>(query, row, width),
                    _ => -WidenedReduce<byte, ByteWidening>.ReduceAt<AbsDiffOp>(query, row, width),
                };
                AssertClose(expected, actual, Scale(metric, query, exact), $"uint8 {metric} width {width} dim {dim}");
            }
        }
    }

    [Fact]
    public void Public_kernels_dispatch_to_the_same_sums_and_check_lengths()
    {
        float[] query = [1f, -2f, 0.5f];
        Half[] halves = [(Half)2f, (Half)0.25f, (Half)(-4f)];
        byte[] bytes = [2, 0, 255];
        Assert.Equal(-0.5f, HalfDotKernel.Score(query, halves));
        Assert.Equal(-((1f * 1f) + (2.25f * 2.25f) + (4.5f * 4.5f)), HalfNegSquaredL2Kernel.Score(query, halves));
        Assert.Equal(-(1f + 2.25f + 4.5f), HalfNegL1Kernel.Score(query, halves));
        Assert.Equal(129.5f, UInt8DotKernel.Score(query, bytes));
        Assert.Equal(-(1f + 4f + (254.5f * 254.5f)), UInt8NegSquaredL2Kernel.Score(query, bytes));
        Assert.Equal(-(1f + 2f + 254.5f), UInt8NegL1Kernel.Score(query, bytes));
        Assert.Throws<ArgumentException>(() => HalfDotKernel.Score(query, halves.AsSpan(0, 2)));
        Assert.Throws<ArgumentException>(() => UInt8DotKernel.Score(query, bytes.AsSpan(0, 2)));
    }

    private static double Reference(Metric metric, float[] query, double[] row)
    {
        double sum = 0;
        for (var i = 0; i < query.Length; i++)
        {
            var d = query[i] - row[i];
            sum += metric switch
            {
                Metric.Dot => query[i] * row[i],
                Metric.NegSquaredL2 => d * d,
                _ => Math.Abs(d),
            };
        }

        return metric == Metric.Dot ? sum : -sum;
    }

    /// <summary>The size of the terms summed: float32 accumulation is accurate relative to it, not to the result.</summary>
    private static double Scale(Metric metric, float[] query, double[] row)
    {
        double sum = 0;
        for (var i = 0; i < query.Length; i++)
        {
            var d = query[i] - row[i];
            sum += metric switch
            {
                Metric.Dot => Math.Abs(query[i] * row[i]),
                Metric.NegSquaredL2 => d * d,
                _ => Math.Abs(d),
            };
        }

        return sum;
    }

    private static void AssertClose(double expected, float actual, double scale, string what) =>
        Assert.True(Math.Abs(expected - actual) <= (1e-5 * scale) + 1e-30, $"{what}: expected {expected}, got {actual}");
}
