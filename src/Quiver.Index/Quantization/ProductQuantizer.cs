using System.Numerics;

namespace Quiver.Index.Quantization;

/// <summary>
/// Product quantization (Jégou et al.): the components are split into consecutive subspaces, each with its own
/// codebook of up to 256 centroids learnt by k-means, and a row is stored as one byte per subspace, the index of its
/// nearest centroid there. Qdrant's <c>compression</c> ratio sets the subspace count: a row of <c>d</c> float32
/// takes <c>4d / ratio</c> bytes. Queries are scored asymmetrically: per query, a table of every centroid's partial
/// score, then per row one lookup per subspace.
/// </summary>
public sealed class ProductQuantizer
{
    /// <summary>Centroids per subspace at most (one byte of code).</summary>
    public const int MaxCentroids = 256;

    /// <summary>Rows sampled to learn the codebooks.</summary>
    private const int SampleRows = 10_000;

    private const int Iterations = 10;

    /// <summary>Per subspace, its first component; the last entry is the dimension.</summary>
    private readonly int[] _starts;

    /// <summary>Per subspace, its centroids transposed: component-major, <see cref="Centroids"/> values each.</summary>
    private readonly float[][] _codebooks;

    private ProductQuantizer(int dimension, int[] starts, int centroids, float[][] codebooks)
    {
        Dimension = dimension;
        _starts = starts;
        Centroids = centroids;
        _codebooks = codebooks;
    }

    public int Dimension { get; }

    /// <summary>Subspaces, which is also the bytes of a code.</summary>
    public int Subspaces => _starts.Length - 1;

    /// <summary>Centroids per subspace (256, or fewer when trained on fewer rows).</summary>
    public int Centroids { get; }

    /// <summary>Bytes of codebooks.</summary>
    public long CodebookBytes => (long)Dimension * Centroids * sizeof(float);

    /// <summary>The subspace count for a compression ratio: <c>4d / ratio</c> bytes a row, at least one, at most d.</summary>
    public static int SubspacesFor(int dimension, int ratio)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(ratio, 1);
        return Math.Clamp((int)((4L * dimension) / ratio), 1, dimension);
    }

    /// <summary>
    /// Learns one codebook per subspace from <paramref name="vectors"/> (rows sampled evenly): k-means with centroids
    /// seeded from distinct sample rows (<paramref name="seed"/> picks them), <see cref="Iterations"/> rounds.
    /// </summary>
    /// <exception cref="ArgumentException">No rows, a partial row, or a subspace count out of range.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static ProductQuantizer Train(ReadOnlySpan<float> vectors, int dimension, int subspaces, int threads = 1, int seed = 42, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
        if (subspaces < 1 || subspaces > dimension)
            throw new ArgumentOutOfRangeException(nameof(subspaces), subspaces, $"From 1 to {dimension} subspaces.");
        if (vectors.Length == 0 || vectors.Length % dimension != 0)
            throw new ArgumentException($"{vectors.Length} floats are not whole rows of {dimension}.", nameof(vectors));
        var rows = vectors.Length / dimension;
        var stride = (rows + SampleRows - 1) / SampleRows;
        var sampleRows = (rows + stride - 1) / stride;
        var sample = new float[(long)sampleRows * dimension];
        for (var i = 0; i < sampleRows; i++)
            vectors.Slice(i * stride * dimension, dimension).CopyTo(sample.AsSpan(i * dimension, dimension));
        if (!sample.All(float.IsFinite))
            throw new ArgumentException("The vectors hold values that are not finite.", nameof(vectors));

        var starts = new int[subspaces + 1];
        for (var s = 0; s <= subspaces; s++)
            starts[s] = (int)((long)s * dimension / subspaces);
        var centroids = Math.Min(MaxCentroids, sampleRows);
        var codebooks = new float[subspaces][];
        var order = Enumerable.Range(0, sampleRows).ToArray();
        new Random(seed).Shuffle(order);
        var options = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads), CancellationToken = cancellationToken };
        Parallel.For(0, subspaces, options, s =>
            codebooks[s] = KMeans(sample, dimension, starts[s], starts[s + 1] - starts[s], centroids, order, cancellationToken));
        return new ProductQuantizer(dimension, starts, centroids, codebooks);
    }

    /// <summary>A quantizer with the codebooks given (as persisted with the codes).</summary>
    /// <exception cref="ArgumentException">Codebooks that do not fit the dimension, or values that are not finite.</exception>
    public static ProductQuantizer FromCodebooks(int dimension, int subspaces, int centroids, float[][] codebooks)
    {
        ArgumentNullException.ThrowIfNull(codebooks);
        if (dimension < 1 || subspaces < 1 || subspaces > dimension || centroids < 1 || centroids > MaxCentroids || codebooks.Length != subspaces)
            throw new ArgumentException($"{subspaces} codebooks of {centroids} centroids do not fit {dimension} components.", nameof(codebooks));
        var starts = new int[subspaces + 1];
        for (var s = 0; s <= subspaces; s++)
            starts[s] = (int)((long)s * dimension / subspaces);
        for (var s = 0; s < subspaces; s++)
        {
            if (codebooks[s] is not { } book || book.Length != (starts[s + 1] - starts[s]) * centroids || !book.All(float.IsFinite))
                throw new ArgumentException($"Codebook {s} does not hold {(starts[s + 1] - starts[s]) * centroids} finite values.", nameof(codebooks));
        }

        return new ProductQuantizer(dimension, starts, centroids, codebooks);
    }

    /// <summary>The first component of a subspace (<paramref name="subspace"/> = <see cref="Subspaces"/> gives the dimension).</summary>
    public int Start(int subspace) => _starts[subspace];

    /// <summary>A subspace's codebook, component-major (value of component j of centroid c at <c>j · Centroids + c</c>).</summary>
    public ReadOnlySpan<float> Codebook(int subspace) => _codebooks[subspace];

    /// <summary>Encodes one row: per subspace, its nearest centroid.</summary>
    public void Encode(ReadOnlySpan<float> vector, Span<byte> code)
    {
        if (vector.Length != Dimension || code.Length < Subspaces)
            throw new ArgumentException($"A row of {Dimension} floats and {Subspaces} bytes are expected; got {vector.Length} and {code.Length}.");
        Span<float> distances = stackalloc float[MaxCentroids];
        for (var s = 0; s < Subspaces; s++)
        {
            var width = _starts[s + 1] - _starts[s];
            SquaredDistances(vector.Slice(_starts[s], width), _codebooks[s], Centroids, distances[..Centroids]);
            code[s] = (byte)ArgMin(distances[..Centroids]);
        }
    }

    /// <summary>Encodes every row of <paramref name="vectors"/>.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public ProductCodes EncodeAll(ReadOnlyMemory<float> vectors, int threads = 1, CancellationToken cancellationToken = default)
    {
        if (vectors.Length % Dimension != 0)
            throw new ArgumentException($"{vectors.Length} floats are not whole rows of {Dimension}.", nameof(vectors));
        var rows = vectors.Length / Dimension;
        var codes = new byte[checked((long)rows * Subspaces) is var n && n <= Array.MaxLength ? (int)n : throw new OutOfMemoryException()];
        // Each row costs d·256 operations: blocks of rows run on the build threads.
        const int block = 1024;
        var options = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads), CancellationToken = cancellationToken };
        Parallel.For(0, (rows + block - 1) / block, options, b =>
        {
            var data = vectors.Span;
            for (var row = b * block; row < Math.Min(rows, (b + 1) * block); row++)
                Encode(data.Slice(row * Dimension, Dimension), codes.AsSpan(row * Subspaces, Subspaces));
        });
        return new ProductCodes(this, codes);
    }

    /// <summary>The row a code stands for: its centroids side by side.</summary>
    public void Decode(ReadOnlySpan<byte> code, Span<float> vector)
    {
        if (vector.Length != Dimension || code.Length < Subspaces)
            throw new ArgumentException($"A row of {Dimension} floats and {Subspaces} bytes are expected; got {vector.Length} and {code.Length}.");
        for (var s = 0; s < Subspaces; s++)
        {
            var book = _codebooks[s];
            for (var j = 0; j < _starts[s + 1] - _starts[s]; j++)
                vector[_starts[s] + j] = book[(j * Centroids) + code[s]];
        }
    }

    /// <summary>
    /// The per-query table of an asymmetric score: entry <c>s · 256 + c</c> is centroid c's partial score in subspace
    /// s against the query's components there: the dot product, minus the squared Euclidean distance, or minus the
    /// Manhattan distance. A row's score is the sum of its subspaces' entries.
    /// </summary>
    public void ScoreTable(ReadOnlySpan<float> query, ProductScore score, Span<float> table)
    {
        if (query.Length != Dimension || table.Length < Subspaces * MaxCentroids)
            throw new ArgumentException($"A query of {Dimension} floats and a table of {Subspaces * MaxCentroids} are expected; got {query.Length} and {table.Length}.");
        var width = Vector<float>.Count;
        for (var s = 0; s < Subspaces; s++)
        {
            var entries = table.Slice(s * MaxCentroids, Centroids);
            var book = _codebooks[s];
            var part = query.Slice(_starts[s], _starts[s + 1] - _starts[s]);
            entries.Clear();
            for (var j = 0; j < part.Length; j++)
            {
                var column = book.AsSpan(j * Centroids, Centroids);
                var q = new Vector<float>(part[j]);
                var c = 0;
                for (; c + width <= Centroids; c += width)
                {
                    var v = new Vector<float>(column[c..]);
                    var term = score switch
                    {
                        ProductScore.Dot => q * v,
                        ProductScore.NegSquaredL2 => -((q - v) * (q - v)),
                        _ => -Vector.Abs(q - v),
                    };
                    (new Vector<float>(entries[c..]) + term).CopyTo(entries[c..]);
                }

                for (; c < Centroids; c++)
                {
                    var v = column[c];
                    entries[c] += score switch
                    {
                        ProductScore.Dot => part[j] * v,
                        ProductScore.NegSquaredL2 => -((part[j] - v) * (part[j] - v)),
                        _ => -MathF.Abs(part[j] - v),
                    };
                }
            }
        }
    }

    /// <summary>Squared distances of <paramref name="part"/> to every centroid of a component-major codebook, a vector of centroids at a time.</summary>
    private static void SquaredDistances(ReadOnlySpan<float> part, ReadOnlySpan<float> book, int centroids, Span<float> distances)
    {
        distances.Clear();
        var width = Vector<float>.Count;
        for (var j = 0; j < part.Length; j++)
        {
            var q = new Vector<float>(part[j]);
            var column = book.Slice(j * centroids, centroids);
            var c = 0;
            for (; c + width <= centroids; c += width)
            {
                var d = new Vector<float>(column[c..]) - q;
                (new Vector<float>(distances[c..]) + (d * d)).CopyTo(distances[c..]);
            }

            for (; c < centroids; c++)
            {
                var d = column[c] - part[j];
                distances[c] += d * d;
            }
        }
    }

    private static int ArgMin(ReadOnlySpan<float> values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
        {
            if (values[i] < values[best])
                best = i;
        }

        return best;
    }

    /// <summary>k-means of one subspace of the sample; returns the centroids component-major.</summary>
    private static float[] KMeans(float[] sample, int dimension, int start, int width, int centroids, int[] order, CancellationToken cancellationToken)
    {
        var rows = sample.Length / dimension;
        var book = new float[width * centroids];
        for (var c = 0; c < centroids; c++)
        {
            for (var j = 0; j < width; j++)
                book[(j * centroids) + c] = sample[((long)order[c] * dimension) + start + j];
        }

        var assignment = new int[rows];
        var sums = new double[width * centroids];
        var counts = new int[centroids];
        var distances = new float[centroids];
        // Empty clusters restart from sample rows no centroid started from, in shuffled order.
        var reseed = centroids;
        for (var iteration = 0; iteration < Iterations; iteration++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Array.Clear(sums);
            Array.Clear(counts);
            for (var r = 0; r < rows; r++)
            {
                var part = sample.AsSpan((r * dimension) + start, width);
                SquaredDistances(part, book, centroids, distances);
                var nearest = ArgMin(distances);
                assignment[r] = nearest;
                counts[nearest]++;
                for (var j = 0; j < width; j++)
                    sums[(j * centroids) + nearest] += part[j];
            }

            for (var c = 0; c < centroids; c++)
            {
                // An empty cluster restarts from another sample row, so no centroid is wasted.
                if (counts[c] == 0)
                {
                    var donor = order[reseed++ % rows];
                    for (var j = 0; j < width; j++)
                        book[(j * centroids) + c] = sample[((long)donor * dimension) + start + j];
                    continue;
                }

                for (var j = 0; j < width; j++)
                    book[(j * centroids) + c] = (float)(sums[(j * centroids) + c] / counts[c]);
            }
        }

        return book;
    }
}

/// <summary>The score a product-quantization table holds: the metric's partial scores (higher is closer).</summary>
public enum ProductScore
{
    Dot,
    NegSquaredL2,
    NegL1,
}
