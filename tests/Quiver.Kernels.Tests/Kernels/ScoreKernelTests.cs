using System.Runtime.Intrinsics;

namespace Quiver.Kernels.Tests.Kernels;

public class ScoreKernelTests
{
    public enum Kernel
    {
        Dot,
        NegSquaredL2,
        NegL1,
    }

    /// <summary>Which entry point: the dispatching one, or one fixed width of the cascade.</summary>
    public enum Path
    {
        Dispatch,
        Scalar,
        Vector128,
        Vector256,
        Vector512,
    }

    public static TheoryData<Kernel, Path, int> Cases()
    {
        var data = new TheoryData<Kernel, Path, int>();
        foreach (var kernel in Enum.GetValues<Kernel>())
        {
            foreach (var path in Enum.GetValues<Path>())
            {
                foreach (var dim in TestVectors.Dims)
                {
                    data.Add(kernel, path, dim);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches_double_precision_reference(Kernel kernel, Path path, int dim)
    {
        // Paths the CPU does not accelerate still run (in software), so every path is checked on every machine.
        for (var seed = 0; seed < 3; seed++)
        {
            var rng = new Random((dim * 7919) + seed);
            var scale = seed == 2 ? 1000f : 1f;

            // Offset the spans inside larger arrays so loads start unaligned.
            var offset = seed;
            var a = TestVectors.Random(rng, dim + offset, scale).AsSpan(offset);
            var b = TestVectors.Random(rng, dim + offset, scale).AsSpan(offset);

            var (expected, magnitude) = Reference(kernel, a, b);
            var actual = Score(kernel, path, a, b);

            // Error bound relative to the sum of |terms|, which is what float accumulation error scales with
            // (the dot product of random signs can cancel to near zero).
            var tolerance = (1e-5 * magnitude) + 1e-30;
            Assert.True(
                Math.Abs(actual - expected) <= tolerance,
                $"{kernel}/{path} dim={dim} seed={seed}: expected {expected}, got {actual}, tolerance {tolerance}");
        }
    }

    [Theory]
    [InlineData(Path.Dispatch)]
    [InlineData(Path.Scalar)]
    [InlineData(Path.Vector128)]
    [InlineData(Path.Vector256)]
    [InlineData(Path.Vector512)]
    public void Identical_vectors_have_zero_distance(Path path)
    {
        var rng = new Random(42);
        foreach (var dim in TestVectors.Dims)
        {
            var a = TestVectors.Random(rng, dim);
            Assert.Equal(0f, Score(Kernel.NegSquaredL2, path, a, a));
            Assert.Equal(0f, Score(Kernel.NegL1, path, a, a));
        }
    }

    [Fact]
    public void Small_exact_values()
    {
        float[] a = [1, 2, 3];
        float[] b = [4, -5, 6];
        Assert.Equal(12f, DotKernel.Score(a, b));
        Assert.Equal(-(9f + 49f + 9f), NegSquaredL2Kernel.Score(a, b));
        Assert.Equal(-(3f + 7f + 3f), NegL1Kernel.Score(a, b));
        Assert.Equal(0f, DotKernel.Score([], []));
    }

    [Fact]
    public void Generic_code_specialises_per_kernel()
    {
        float[] a = [1, 0];
        float[] b = [0, 1];
        Assert.Equal(0f, ScoreGeneric<DotKernel>(a, b));
        Assert.Equal(-2f, ScoreGeneric<NegSquaredL2Kernel>(a, b));
        Assert.Equal(-2f, ScoreGeneric<NegL1Kernel>(a, b));
    }

    [Theory]
    [InlineData(Path.Dispatch)]
    [InlineData(Path.Scalar)]
    [InlineData(Path.Vector128)]
    [InlineData(Path.Vector256)]
    [InlineData(Path.Vector512)]
    public void Length_mismatch_throws(Path path)
    {
        foreach (var kernel in Enum.GetValues<Kernel>())
        {
            Assert.Throws<ArgumentException>(() => Score(kernel, path, new float[33], new float[32]));
        }
    }

    [Fact]
    public void Dispatch_takes_the_widest_accelerated_path()
    {
        var widest = Vector512.IsHardwareAccelerated ? Path.Vector512
            : Vector256.IsHardwareAccelerated ? Path.Vector256
            : Vector128.IsHardwareAccelerated ? Path.Vector128
            : Path.Scalar;
        var rng = new Random(99);
        foreach (var dim in TestVectors.Dims)
        {
            var a = TestVectors.Random(rng, dim);
            var b = TestVectors.Random(rng, dim);
            foreach (var kernel in Enum.GetValues<Kernel>())
            {
                // Bit-identical: same instructions in the same order.
                Assert.Equal(Score(kernel, widest, a, b), Score(kernel, Path.Dispatch, a, b));
            }
        }
    }

    private static float ScoreGeneric<TKernel>(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
        where TKernel : struct, IScoreKernel => TKernel.Score(a, b);

    private static float Score(Kernel kernel, Path path, ReadOnlySpan<float> a, ReadOnlySpan<float> b) =>
        (kernel, path) switch
        {
            (Kernel.Dot, Path.Dispatch) => DotKernel.Score(a, b),
            (Kernel.Dot, Path.Scalar) => DotKernel.ScoreScalar(a, b),
            (Kernel.Dot, Path.Vector128) => DotKernel.ScoreVector128(a, b),
            (Kernel.Dot, Path.Vector256) => DotKernel.ScoreVector256(a, b),
            (Kernel.Dot, Path.Vector512) => DotKernel.ScoreVector512(a, b),
            (Kernel.NegSquaredL2, Path.Dispatch) => NegSquaredL2Kernel.Score(a, b),
            (Kernel.NegSquaredL2, Path.Scalar) => NegSquaredL2Kernel.ScoreScalar(a, b),
            (Kernel.NegSquaredL2, Path.Vector128) => NegSquaredL2Kernel.ScoreVector128(a, b),
            (Kernel.NegSquaredL2, Path.Vector256) => NegSquaredL2Kernel.ScoreVector256(a, b),
            (Kernel.NegSquaredL2, Path.Vector512) => NegSquaredL2Kernel.ScoreVector512(a, b),
            (Kernel.NegL1, Path.Dispatch) => NegL1Kernel.Score(a, b),
            (Kernel.NegL1, Path.Scalar) => NegL1Kernel.ScoreScalar(a, b),
            (Kernel.NegL1, Path.Vector128) => NegL1Kernel.ScoreVector128(a, b),
            (Kernel.NegL1, Path.Vector256) => NegL1Kernel.ScoreVector256(a, b),
            (Kernel.NegL1, Path.Vector512) => NegL1Kernel.ScoreVector512(a, b),
            _ => throw new ArgumentOutOfRangeException(nameof(kernel)),
        };

    /// <summary>Returns the score in double precision and the sum of |terms| for the error bound.</summary>
    private static (double Score, double Magnitude) Reference(Kernel kernel, ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double sum = 0, magnitude = 0;
        for (var i = 0; i < a.Length; i++)
        {
            double x = a[i], y = b[i];
            var term = kernel switch
            {
                Kernel.Dot => x * y,
                Kernel.NegSquaredL2 => (x - y) * (x - y),
                _ => Math.Abs(x - y),
            };
            sum += term;
            magnitude += Math.Abs(term);
        }

        return (kernel == Kernel.Dot ? sum : -sum, magnitude);
    }
}
