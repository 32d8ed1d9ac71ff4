using System.Runtime.Intrinsics;

namespace Quiver.Kernels.Tests.Kernels;

public class ByteScoreKernelTests
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
                foreach (var dim in TestVectors.ByteDims)
                {
                    data.Add(kernel, path, dim);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches_exact_integer_reference(Kernel kernel, Path path, int dim)
    {
        // Paths the CPU does not accelerate still run (in software), so every path is checked on every machine.
        foreach (var (name, a, b) in Inputs(dim))
        {
            // The sum is exact, so the only rounding allowed is the final long -> float conversion.
            var expected = (float)Reference(kernel, a, b);
            var actual = Score(kernel, path, a, b);
            Assert.True(actual == expected, $"{kernel}/{path} dim={dim} {name}: expected {expected}, got {actual}");
        }
    }

    [Theory]
    [InlineData(Path.Dispatch)]
    [InlineData(Path.Scalar)]
    [InlineData(Path.Vector128)]
    [InlineData(Path.Vector256)]
    [InlineData(Path.Vector512)]
    public void Extremes_at_qdrant_max_dims_are_exact(Path path)
    {
        // 65,536 * 255^2 = 4,261,478,400 overflows int32 (and only just fits uint32); it is exact as a float
        // (65,025 * 2^16), so the kernels must return it to the last unit.
        const int Dim = 65_536;
        var zeros = new byte[Dim];
        var full = Enumerable.Repeat((byte)255, Dim).ToArray();
        Assert.Equal(4_261_478_400L, (long)Score(Kernel.Dot, path, full, full));
        Assert.Equal(0L, (long)Score(Kernel.Dot, path, full, zeros));
        Assert.Equal(-4_261_478_400L, (long)Score(Kernel.NegSquaredL2, path, full, zeros));
        Assert.Equal(-4_261_478_400L, (long)Score(Kernel.NegSquaredL2, path, zeros, full));
        Assert.Equal(-16_711_680L, (long)Score(Kernel.NegL1, path, full, zeros));
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
        foreach (var dim in TestVectors.ByteDims)
        {
            var a = TestVectors.RandomBytes(rng, dim);
            Assert.True(Score(Kernel.NegSquaredL2, path, a, a) is 0f, $"dim={dim}");
            Assert.True(Score(Kernel.NegL1, path, a, a) is 0f, $"dim={dim}");
        }
    }

    [Fact]
    public void Small_exact_values()
    {
        byte[] a = [1, 2, 3];
        byte[] b = [4, 5, 6];
        Assert.Equal(32f, ByteDotKernel.Score(a, b));
        Assert.Equal(-27f, ByteNegSquaredL2Kernel.Score(a, b));
        Assert.Equal(-9f, ByteNegL1Kernel.Score(a, b));
        Assert.Equal(0f, ByteDotKernel.Score([], []));

        byte[] c = [0, 255];
        byte[] d = [255, 0];
        Assert.Equal(0f, ByteDotKernel.Score(c, d));
        Assert.Equal(-130_050f, ByteNegSquaredL2Kernel.Score(c, d));
        Assert.Equal(-510f, ByteNegL1Kernel.Score(c, d));
    }

    [Fact]
    public void Generic_code_specialises_per_kernel()
    {
        byte[] a = [1, 0];
        byte[] b = [0, 1];
        Assert.Equal(0f, ScoreGeneric<ByteDotKernel>(a, b));
        Assert.Equal(-2f, ScoreGeneric<ByteNegSquaredL2Kernel>(a, b));
        Assert.Equal(-2f, ScoreGeneric<ByteNegL1Kernel>(a, b));
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
            Assert.Throws<ArgumentException>(() => Score(kernel, path, new byte[65], new byte[64]));
            Assert.Throws<ArgumentException>(() => Score(kernel, path, new byte[3], new byte[4]));
            Assert.Throws<ArgumentException>(() => Score(kernel, path, [], new byte[1]));
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
        foreach (var dim in TestVectors.ByteDims)
        {
            var a = TestVectors.RandomBytes(rng, dim);
            var b = TestVectors.RandomBytes(rng, dim);
            foreach (var kernel in Enum.GetValues<Kernel>())
            {
                Assert.Equal(Score(kernel, widest, a, b), Score(kernel, Path.Dispatch, a, b));
            }
        }
    }

    /// <summary>
    /// Random vectors (three seeds, at different offsets so loads start unaligned) and the extremes: all 0, all 255,
    /// 0/255 alternating against itself and its complement. Each sits inside a larger array of random bytes, so
    /// a kernel that used a byte past the end of its span (an unmasked tail) would get a wrong sum.
    /// </summary>
    private static IEnumerable<(string Name, ArraySegment<byte> A, ArraySegment<byte> B)> Inputs(int dim)
    {
        var rng = new Random((dim * 7919) + 1);
        int[] offsets = [0, 1, 67];
        for (var seed = 0; seed < offsets.Length; seed++)
        {
            yield return ($"random seed={seed}", Embed(rng, TestVectors.RandomBytes(rng, dim), offsets[seed]),
                Embed(rng, TestVectors.RandomBytes(rng, dim), offsets[seed]));
        }

        var zeros = new byte[dim];
        var full = Enumerable.Repeat((byte)255, dim).ToArray();
        var alternating = Enumerable.Range(0, dim).Select(i => (byte)(i % 2 == 0 ? 0 : 255)).ToArray();
        var complement = alternating.Select(x => (byte)(255 - x)).ToArray();
        yield return ("zeros/zeros", Embed(rng, zeros, 0), Embed(rng, zeros, 0));
        yield return ("255/255", Embed(rng, full, 0), Embed(rng, full, 0));
        yield return ("255/zeros", Embed(rng, full, 0), Embed(rng, zeros, 0));
        yield return ("zeros/255", Embed(rng, zeros, 0), Embed(rng, full, 0));
        yield return ("alternating/complement", Embed(rng, alternating, 3), Embed(rng, complement, 3));
        yield return ("alternating/alternating", Embed(rng, alternating, 0), Embed(rng, alternating, 0));
    }

    private static ArraySegment<byte> Embed(Random rng, byte[] values, int offset)
    {
        var host = TestVectors.RandomBytes(rng, offset + values.Length + 64);
        values.CopyTo(host, offset);
        return new ArraySegment<byte>(host, offset, values.Length);
    }

    private static long Reference(Kernel kernel, ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        long sum = 0;
        for (var i = 0; i < a.Length; i++)
        {
            long x = a[i], y = b[i];
            sum += kernel switch
            {
                Kernel.Dot => x * y,
                Kernel.NegSquaredL2 => (x - y) * (x - y),
                _ => Math.Abs(x - y),
            };
        }

        return kernel == Kernel.Dot ? sum : -sum;
    }

    private static float ScoreGeneric<TKernel>(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
        where TKernel : struct, IByteScoreKernel => TKernel.Score(a, b);

    private static float Score(Kernel kernel, Path path, ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) =>
        (kernel, path) switch
        {
            (Kernel.Dot, Path.Dispatch) => ByteDotKernel.Score(a, b),
            (Kernel.Dot, Path.Scalar) => ByteDotKernel.ScoreScalar(a, b),
            (Kernel.Dot, Path.Vector128) => ByteDotKernel.ScoreVector128(a, b),
            (Kernel.Dot, Path.Vector256) => ByteDotKernel.ScoreVector256(a, b),
            (Kernel.Dot, Path.Vector512) => ByteDotKernel.ScoreVector512(a, b),
            (Kernel.NegSquaredL2, Path.Dispatch) => ByteNegSquaredL2Kernel.Score(a, b),
            (Kernel.NegSquaredL2, Path.Scalar) => ByteNegSquaredL2Kernel.ScoreScalar(a, b),
            (Kernel.NegSquaredL2, Path.Vector128) => ByteNegSquaredL2Kernel.ScoreVector128(a, b),
            (Kernel.NegSquaredL2, Path.Vector256) => ByteNegSquaredL2Kernel.ScoreVector256(a, b),
            (Kernel.NegSquaredL2, Path.Vector512) => ByteNegSquaredL2Kernel.ScoreVector512(a, b),
            (Kernel.NegL1, Path.Dispatch) => ByteNegL1Kernel.Score(a, b),
            (Kernel.NegL1, Path.Scalar) => ByteNegL1Kernel.ScoreScalar(a, b),
            (Kernel.NegL1, Path.Vector128) => ByteNegL1Kernel.ScoreVector128(a, b),
            (Kernel.NegL1, Path.Vector256) => ByteNegL1Kernel.ScoreVector256(a, b),
            (Kernel.NegL1, Path.Vector512) => ByteNegL1Kernel.ScoreVector512(a, b),
            _ => throw new ArgumentOutOfRangeException(nameof(kernel)),
        };
}
