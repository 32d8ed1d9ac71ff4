namespace Quiver.Kernels.Tests.Kernels;

public class VectorMathTests
{
    [Fact]
    public void Norm_matches_double_reference()
    {
        var rng = new Random(7);
        foreach (var dim in TestVectors.Dims)
        {
            var v = TestVectors.Random(rng, dim);
            var expected = Math.Sqrt(v.Sum(x => (double)x * x));
            Assert.True(Math.Abs(VectorMath.Norm(v) - expected) <= (1e-6 * expected) + 1e-30, $"dim={dim}");
        }
    }

    [Fact]
    public void Normalize_gives_unit_length_and_keeps_direction()
    {
        var rng = new Random(11);
        foreach (var dim in TestVectors.Dims.Where(d => d > 0))
        {
            var original = TestVectors.Random(rng, dim, scale: 50f);
            var v = (float[])original.Clone();
            Assert.True(VectorMath.Normalize(v), $"dim={dim}");
            Assert.True(Math.Abs(VectorMath.Norm(v) - 1) < 1e-5, $"dim={dim}");

            var norm = Math.Sqrt(original.Sum(x => (double)x * x));
            for (var i = 0; i < dim; i++)
            {
                Assert.True(Math.Abs(v[i] - (original[i] / norm)) < 1e-6, $"dim={dim} i={i}");
            }
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(17)]
    [InlineData(384)]
    public void Normalize_zero_vector_returns_false_and_leaves_it(int dim)
    {
        var v = new float[dim];
        Assert.False(VectorMath.Normalize(v));
        Assert.All(v, x => Assert.Equal(0f, x));
        Assert.Equal(0f, VectorMath.Norm(v));
    }

    [Theory]
    [InlineData(1e30f)]
    [InlineData(float.MaxValue)]
    [InlineData(1e-30f)]
    [InlineData(1e-44f)]
    public void Normalize_survives_float_overflow_and_underflow(float magnitude)
    {
        var v = new float[] { magnitude, -magnitude, magnitude, 0 };
        Assert.True(VectorMath.Normalize(v));
        var expected = (float)(1 / Math.Sqrt(3));
        Assert.Equal(expected, v[0], 1e-6f);
        Assert.Equal(-expected, v[1], 1e-6f);
        Assert.Equal(expected, v[2], 1e-6f);
        Assert.Equal(0f, v[3]);
    }

    [Fact]
    public void Norm_of_large_components_is_not_infinite()
    {
        var v = new float[] { 1e30f, 1e30f };
        Assert.Equal(1e30f * MathF.Sqrt(2), VectorMath.Norm(v), 1e24f);
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void Normalize_non_finite_returns_false_and_leaves_it(float bad)
    {
        var v = new float[] { 1, bad, 2, 3, 4 };
        var copy = (float[])v.Clone();
        Assert.False(VectorMath.Normalize(v));
        Assert.Equal(copy, v);
    }

    [Fact]
    public void AllFinite_finds_every_non_finite_position()
    {
        float[] bads = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, BitConverter.Int32BitsToSingle(unchecked((int)0xFFC0_0001))];
        foreach (var dim in TestVectors.Dims.Where(d => d <= 130 || d == 1000))
        {
            var v = TestVectors.Random(new Random(dim), dim);
            Assert.True(VectorMath.AllFinite(v), $"dim={dim}");
            for (var i = 0; i < dim; i++)
            {
                foreach (var bad in bads)
                {
                    var saved = v[i];
                    v[i] = bad;
                    Assert.False(VectorMath.AllFinite(v), $"dim={dim} i={i} bad={bad}");
                    v[i] = saved;
                }
            }
        }
    }

    [Fact]
    public void AllFinite_accepts_extremes()
    {
        float[] v = [float.MaxValue, float.MinValue, float.Epsilon, -float.Epsilon, 0f, -0f, 1e-40f, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
        Assert.True(VectorMath.AllFinite(v));
        Assert.True(VectorMath.AllFinite([]));
    }

    [Fact]
    public void Scale_covers_every_tail()
    {
        foreach (var dim in TestVectors.Dims)
        {
            var v = Enumerable.Range(1, dim).Select(i => (float)i).ToArray();
            VectorMath.Scale(v, 0.5f);
            for (var i = 0; i < dim; i++)
            {
                Assert.Equal((i + 1) * 0.5f, v[i]);
            }
        }
    }
}
