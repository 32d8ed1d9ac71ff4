using Quiver.Index.Sketch;
using Quiver.Kernels;

namespace Quiver.Index.Tests.Sketch;

public sealed class ProjectionSketchTests
{
    private const int Dim = 320;

    /// <summary>Rows near a 12-dimensional subspace plus noise, with a few exactly on it (zero residual).</summary>
    private static float[] LowRankRows(int rows, int seed)
    {
        var random = new Random(seed);
        var factors = new float[12 * Dim];
        for (var i = 0; i < factors.Length; i++)
            factors[i] = (float)((random.NextDouble() * 2) - 1);
        var data = new float[rows * Dim];
        for (var r = 0; r < rows; r++)
        {
            var noise = r % 17 == 0 ? 0f : 0.05f;
            for (var f = 0; f < 12; f++)
            {
                var weight = (float)((random.NextDouble() * 2) - 1) * (12 - f);
                for (var d = 0; d < Dim; d++)
                    data[(r * Dim) + d] += weight * factors[(f * Dim) + d];
            }

            for (var d = 0; d < Dim; d++)
                data[(r * Dim) + d] += noise * (float)((random.NextDouble() * 2) - 1);
        }

        return data;
    }

    [Fact]
    public void Sketch_scores_never_fall_below_the_full_scores()
    {
        const int Rows = 1500;
        var data = LowRankRows(Rows, 3);
        var sketch = ProjectionSketch.Build(data, Dim, Rows, threads: 2);
        Assert.Equal(Rows, sketch.Rows);
        var queries = LowRankRows(40, 4);
        Span<float> querySketch = stackalloc float[ProjectionSketch.Width];
        var scratch = new float[Dim];
        var tightL2 = 0.0;
        for (var q = 0; q < 40; q++)
        {
            var query = queries.AsSpan(q * Dim, Dim);
            sketch.Project(query, querySketch, scratch);
            var l2Margin = sketch.QueryMargin(querySketch, squaredL2: true);
            var dotMargin = sketch.QueryMargin(querySketch, squaredL2: false);
            for (var r = 0; r < Rows; r++)
            {
                var row = data.AsSpan(r * Dim, Dim);
                var l2 = NegSquaredL2Kernel.Score(query, row);
                var l2Bound = NegSquaredL2Kernel.Score(querySketch, sketch.Row(r));
                Assert.True(ProjectionSketch.MayReach(l2Bound, l2, l2Margin), $"L2 bound {l2Bound} below {l2} (query {q}, row {r})");
                var dot = DotKernel.Score(query, row);
                var dotBound = DotKernel.Score(querySketch, sketch.Row(r));
                Assert.True(ProjectionSketch.MayReach(dotBound, dot, dotMargin), $"dot bound {dotBound} below {dot} (query {q}, row {r})");
                // Both negative: the sketched squared distance over the full one, at most 1.
                tightL2 += l2Bound / l2;
            }
        }

        // Principal directions, not just any: on low-rank data the sketched distance is most of the full one.
        Assert.True(tightL2 / (40 * Rows) > 0.9, $"mean bound/full ratio {tightL2 / (40 * Rows):F3}");
    }

    [Fact]
    public void Margins_scale_with_vector_lengths()
    {
        // Long rows near a low-rank subspace (bounds tight, some residuals exactly 0): rounding errors of scores
        // from vectors of length ~1e3 are far above a fixed 1e-6; the margin scales with the lengths.
        const int Rows = 600;
        var data = LowRankRows(Rows, 12);
        for (var i = 0; i < data.Length; i++)
            data[i] *= 100f;
        var sketch = ProjectionSketch.Build(data, Dim, Rows, threads: 1);
        Span<float> querySketch = stackalloc float[ProjectionSketch.Width];
        var scratch = new float[Dim];
        var queries = LowRankRows(20, 13);
        for (var q = 0; q < 20; q++)
        {
            var query = queries.AsSpan(q * Dim, Dim);
            for (var i = 0; i < Dim; i++)
                query[i] *= 100f;
            sketch.Project(query, querySketch, scratch);
            var margin = sketch.QueryMargin(querySketch, squaredL2: false);
            for (var r = 0; r < Rows; r++)
            {
                var dot = DotKernel.Score(query, data.AsSpan(r * Dim, Dim));
                var bound = DotKernel.Score(querySketch, sketch.Row(r));
                // Around any floor at the exact score: the row must never be ruled out.
                Assert.True(ProjectionSketch.MayReach(bound, dot, margin), $"bound {bound} vs {dot}, margin {margin}");
            }
        }
    }

    [Fact]
    public void Directions_are_orthonormal_even_when_the_data_spans_fewer()
    {
        // Rank 1: the other directions must be filled in, still orthonormal.
        const int Rows = 300;
        var data = new float[Rows * Dim];
        for (var r = 0; r < Rows; r++)
        {
            for (var d = 0; d < Dim; d++)
                data[(r * Dim) + d] = r * (d % 5);
        }

        var sketch = ProjectionSketch.Build(data, Dim, Rows, threads: 1);
        // Projecting each basis direction recovers a unit coordinate: B e_c = e_c and a zero residual.
        var scratch = new float[Dim];
        Span<float> coordinates = stackalloc float[ProjectionSketch.Width];
        var unit = new float[Dim];
        var random = new Random(9);
        for (var trial = 0; trial < 20; trial++)
        {
            for (var d = 0; d < Dim; d++)
                unit[d] = (float)random.NextDouble() - 0.5f;
            sketch.Project(unit, coordinates, scratch);
            // |x|^2 = |Bx|^2 + |r|^2 holds only for an orthonormal B.
            var total = DotKernel.Score(unit, unit);
            var split = DotKernel.Score(coordinates, coordinates);
            Assert.Equal(total, split, total * 1e-4f);
        }
    }

    [Fact]
    public void Round_trips_through_its_binary_format_and_rejects_damage()
    {
        const int Rows = 200;
        var data = LowRankRows(Rows, 5);
        var sketch = ProjectionSketch.Build(data, Dim, Rows, threads: 1);
        using var stream = new MemoryStream();
        sketch.WriteTo(stream);
        var bytes = stream.ToArray();
        var read = ProjectionSketch.ReadFrom(new MemoryStream(bytes));
        Assert.Equal(Dim, read.Dimension);
        Assert.Equal(Rows, read.Rows);
        for (var r = 0; r < Rows; r++)
            Assert.True(sketch.Row(r).SequenceEqual(read.Row(r)));

        Assert.Throws<InvalidDataException>(() => ProjectionSketch.ReadFrom(new MemoryStream(bytes[..^4])));
        var badMagic = (byte[])bytes.Clone();
        badMagic[0] ^= 0xFF;
        Assert.Throws<InvalidDataException>(() => ProjectionSketch.ReadFrom(new MemoryStream(badMagic)));
    }

    [Fact]
    public void Is_the_same_for_the_same_rows_whatever_the_threads()
    {
        const int Rows = 2500;
        var data = LowRankRows(Rows, 6);
        var one = ProjectionSketch.Build(data, Dim, Rows, threads: 1);
        var two = ProjectionSketch.Build(data, Dim, Rows, threads: 2);
        for (var r = 0; r < Rows; r++)
            Assert.True(one.Row(r).SequenceEqual(two.Row(r)));
    }
}
