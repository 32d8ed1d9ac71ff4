using Quiver.Kernels;

namespace Quiver.Index.Sketch;

public sealed partial class ProjectionSketch
{
    /// <summary>Rows sampled for the covariance: enough to find the main directions, cheap next to a graph build.</summary>
    private const int SampleRows = 2048;

    /// <summary>Rounds of subspace iteration; the basis need not converge fully to be useful (or valid).</summary>
    private const int Rounds = 12;

    private const int Seed = 20261126;

    /// <summary>
    /// Sketches rows [0, <paramref name="rows"/>) of <paramref name="vectors"/> (row-major, <paramref name="dimension"/>
    /// floats each) along the top principal directions of a sample of them, on up to <paramref name="threads"/>
    /// threads. Deterministic for given rows.
    /// </summary>
    public static ProjectionSketch Build(ReadOnlyMemory<float> vectors, int dimension, int rows, int threads, CancellationToken cancellationToken = default)
    {
        var sketch = CreateAppendable(vectors, dimension, rows, rows, cancellationToken);
        sketch.Extend(vectors, rows, threads, cancellationToken);
        return sketch;
    }

    /// <summary>
    /// A sketch with room for <paramref name="capacity"/> rows and no row sketched yet, its directions taken from
    /// rows [0, <paramref name="sampleRows"/>): for a segment whose rows are appended and never rewritten.
    /// </summary>
    public static ProjectionSketch CreateAppendable(ReadOnlyMemory<float> vectors, int dimension, int sampleRows, int capacity, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, Width);
        ArgumentOutOfRangeException.ThrowIfNegative(sampleRows);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, sampleRows);
        if (vectors.Length < (long)sampleRows * dimension)
            throw new ArgumentException($"Vectors hold {vectors.Length} floats; {sampleRows} rows of {dimension} need {(long)sampleRows * dimension}.", nameof(vectors));
        var basis = PrincipalDirections(vectors.Span, dimension, sampleRows, cancellationToken);
        return new ProjectionSketch(dimension, 0, basis, new float[(long)capacity * Width]);
    }

    /// <summary>
    /// Sketches rows [<see cref="Rows"/>, <paramref name="end"/>) (those that fit in <see cref="Capacity"/>) and
    /// then publishes them. One caller at a time; readers may run throughout.
    /// </summary>
    public void Extend(ReadOnlyMemory<float> vectors, int end, int threads, CancellationToken cancellationToken = default)
    {
        var first = _count;
        end = Math.Min(end, Capacity);
        if (end <= first)
            return;
        var dimension = Dimension;
        if (vectors.Length < (long)end * dimension)
            throw new ArgumentException($"Vectors hold {vectors.Length} floats; {end} rows of {dimension} need {(long)end * dimension}.", nameof(vectors));
        var basis = _basis;
        var sketchRows = _rows;
        var options = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads), CancellationToken = cancellationToken };
        const int Block = 1024;
        Parallel.For(0, (end - first + Block - 1) / Block, options, () => new float[dimension], (block, _, scratch) =>
        {
            var source = vectors.Span;
            var stop = Math.Min(end, first + ((block + 1) * Block));
            for (var row = first + (block * Block); row < stop; row++)
                ProjectInto(basis, source.Slice(row * dimension, dimension), sketchRows.AsSpan(row * Width, Width), scratch);
            return scratch;
        }, _ => { });
        // Before the rows are published: a reader's margin then always covers every row it may see.
        Volatile.Write(ref _maxRowNorm, MathF.Max(_maxRowNorm, MaxNorm(sketchRows, first, end)));
        Volatile.Write(ref _count, end);
    }

    /// <summary>
    /// <see cref="Coordinates"/> orthonormal directions (row-major), the leading eigenvectors of a sample's
    /// covariance found by subspace iteration; padded with random directions when the data spans fewer.
    /// </summary>
    private static float[] PrincipalDirections(ReadOnlySpan<float> vectors, int dim, int rows, CancellationToken cancellationToken)
    {
        var covariance = SampleCovariance(vectors, dim, rows, cancellationToken);
        var random = new Random(Seed);
        var basis = new double[Coordinates * dim];
        for (var i = 0; i < basis.Length; i++)
            basis[i] = random.NextDouble() - 0.5;
        Orthonormalize(basis, dim, random);

        // Values so large that the covariance overflows: random directions still give valid (if loose) bounds.
        var rounds = VectorMath.AllFinite(covariance) ? Rounds : 0;

        var row = new float[dim];
        var product = new float[dim];
        for (var round = 0; round < rounds; round++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            for (var c = 0; c < Coordinates; c++)
            {
                // product = C b (C is symmetric, so its rows serve as columns).
                var b = basis.AsSpan(c * dim, dim);
                for (var i = 0; i < dim; i++)
                    row[i] = (float)b[i];
                for (var i = 0; i < dim; i++)
                    product[i] = DotKernel.Score(covariance.AsSpan(i * dim, dim), row);
                for (var i = 0; i < dim; i++)
                    b[i] = product[i];
            }

            Orthonormalize(basis, dim, random);
        }

        var result = new float[basis.Length];
        for (var i = 0; i < basis.Length; i++)
            result[i] = (float)basis[i];
        return result;
    }

    private static float[] SampleCovariance(ReadOnlySpan<float> vectors, int dim, int rows, CancellationToken cancellationToken)
    {
        var covariance = new float[dim * dim];
        if (rows == 0)
            return covariance;
        var step = Math.Max(1, rows / SampleRows);
        var mean = new double[dim];
        var sampled = 0;
        for (var r = 0; r < rows; r += step, sampled++)
        {
            var x = vectors.Slice(r * dim, dim);
            for (var i = 0; i < dim; i++)
                mean[i] += x[i];
        }

        var centered = new float[dim];
        for (var r = 0; r < rows; r += step)
        {
            if ((r / step & 255) == 0)
                cancellationToken.ThrowIfCancellationRequested();
            var x = vectors.Slice(r * dim, dim);
            for (var i = 0; i < dim; i++)
                centered[i] = (float)(x[i] - (mean[i] / sampled));
            // Upper triangle only, mirrored below.
            for (var i = 0; i < dim; i++)
            {
                if (centered[i] != 0f)
                    AddScaled(covariance.AsSpan((i * dim) + i, dim - i), centered.AsSpan(i), centered[i]);
            }
        }

        for (var i = 0; i < dim; i++)
        {
            for (var j = 0; j < i; j++)
                covariance[(i * dim) + j] = covariance[(j * dim) + i];
        }

        return covariance;
    }

    /// <summary>
    /// Modified Gram-Schmidt, twice, in double: the bounds rely on the directions being orthonormal. A direction
    /// that vanishes against the earlier ones is replaced by a random one.
    /// </summary>
    private static void Orthonormalize(double[] basis, int dim, Random random)
    {
        for (var c = 0; c < Coordinates; c++)
        {
            var v = basis.AsSpan(c * dim, dim);
            for (var attempt = 0; ; attempt++)
            {
                var before = Math.Sqrt(Dot(v, v));
                for (var pass = 0; pass < 2; pass++)
                {
                    for (var p = 0; p < c; p++)
                    {
                        var u = basis.AsSpan(p * dim, dim);
                        var d = Dot(u, v);
                        for (var i = 0; i < dim; i++)
                            v[i] -= d * u[i];
                    }
                }

                var norm = Math.Sqrt(Dot(v, v));
                if (norm > 1e-9 * Math.Max(before, 1e-300) && norm > 0)
                {
                    for (var i = 0; i < dim; i++)
                        v[i] /= norm;
                    break;
                }

                if (attempt > 8)
                    throw new InvalidOperationException("could not complete an orthonormal basis");
                for (var i = 0; i < dim; i++)
                    v[i] = random.NextDouble() - 0.5;
            }
        }
    }

    private static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        var sum = 0.0;
        for (var i = 0; i < a.Length; i++)
            sum += a[i] * b[i];
        return sum;
    }
}
