namespace Quiver.Index.Quantization;

/// <summary>
/// Scalar quantization (Qdrant's <c>scalar: {type: int8, quantile}</c>): every component is mapped linearly onto
/// 0..255 between two bounds learnt from the data. With a <c>quantile</c> the bounds leave out the most extreme
/// values (a few outliers would otherwise waste most of the 256 steps); components outside are clamped. A code is a
/// quarter of the float32 row.
/// </summary>
public sealed class ScalarQuantizer
{
    /// <summary>Components sampled to learn the bounds; more adds time, not accuracy.</summary>
    private const int SampleComponents = 1 << 20;

    private ScalarQuantizer(int dimension, float min, float max, double? quantile)
    {
        Dimension = dimension;
        Quantile = quantile;
        Min = min;
        Max = max;
        Step = (max - min) / 255f;
    }

    public int Dimension { get; }

    /// <summary>The central share of the components the bounds were learnt from; null for the whole range.</summary>
    public double? Quantile { get; }

    /// <summary>The value of code 0.</summary>
    public float Min { get; }

    /// <summary>The value of code 255.</summary>
    public float Max { get; }

    /// <summary>The value between two neighbouring codes.</summary>
    public float Step { get; }

    /// <summary>A quantizer with the bounds given (as persisted with the codes).</summary>
    /// <exception cref="ArgumentException">Bounds not finite, or not increasing.</exception>
    public static ScalarQuantizer FromBounds(int dimension, float min, float max, double? quantile = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
        if (!float.IsFinite(min) || !float.IsFinite(max) || !(max > min))
            throw new ArgumentException($"Bounds [{min}, {max}] must be finite and increasing.", nameof(max));
        return new ScalarQuantizer(dimension, min, max, quantile);
    }

    /// <summary>
    /// Learns the bounds from <paramref name="vectors"/> (rows of <paramref name="dimension"/> floats): the whole
    /// range, or the central <paramref name="quantile"/> share of the components (0.5 to 1), sampled evenly by row.
    /// </summary>
    /// <exception cref="ArgumentException">No rows, a partial row, or a quantile outside 0.5..1.</exception>
    public static ScalarQuantizer Train(ReadOnlySpan<float> vectors, int dimension, double? quantile = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
        if (vectors.Length == 0 || vectors.Length % dimension != 0)
            throw new ArgumentException($"{vectors.Length} floats are not whole rows of {dimension}.", nameof(vectors));
        if (quantile is { } q && (double.IsNaN(q) || q < 0.5 || q > 1))
            throw new ArgumentOutOfRangeException(nameof(quantile), quantile, "The quantile must be from 0.5 to 1.");
        var rows = vectors.Length / dimension;
        var stride = Math.Max(1, (int)Math.Min(rows, (long)rows * dimension / SampleComponents));
        var sample = new float[((rows + stride - 1) / stride) * dimension];
        var n = 0;
        for (var row = 0; row < rows; row += stride)
        {
            vectors.Slice(row * dimension, dimension).CopyTo(sample.AsSpan(n));
            n += dimension;
        }

        float min, max;
        if (quantile is null or 1.0)
        {
            min = float.PositiveInfinity;
            max = float.NegativeInfinity;
            foreach (var v in vectors)
            {
                min = Math.Min(min, v);
                max = Math.Max(max, v);
            }
        }
        else
        {
            var sorted = sample.AsSpan(0, n);
            sorted.Sort();
            var cut = (1 - quantile.Value) / 2;
            min = sorted[(int)(cut * (n - 1))];
            max = sorted[(int)Math.Ceiling((1 - cut) * (n - 1))];
        }

        if (!float.IsFinite(min) || !float.IsFinite(max))
            throw new ArgumentException("The vectors hold values that are not finite.", nameof(vectors));
        // All components equal: any step encodes them exactly as code 0.
        if (!(max > min))
            max = min + Math.Max(1e-6f, Math.Abs(min) * 1e-6f);
        return new ScalarQuantizer(dimension, min, max, quantile is 1.0 ? null : quantile);
    }

    /// <summary>Encodes one row; components outside the bounds are clamped to them.</summary>
    public void Encode(ReadOnlySpan<float> vector, Span<byte> code)
    {
        CheckLengths(vector.Length, code.Length);
        var scale = 1f / Step;
        for (var i = 0; i < vector.Length; i++)
            code[i] = (byte)Math.Clamp(MathF.Round((vector[i] - Min) * scale), 0f, 255f);
    }

    /// <summary>The row a code stands for.</summary>
    public void Decode(ReadOnlySpan<byte> code, Span<float> vector)
    {
        CheckLengths(vector.Length, code.Length);
        for (var i = 0; i < code.Length; i++)
            vector[i] = Min + (Step * code[i]);
    }

    /// <summary>Encodes every row of <paramref name="vectors"/>.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public QuantizedVectors EncodeAll(ReadOnlySpan<float> vectors, CancellationToken cancellationToken = default)
    {
        if (vectors.Length % Dimension != 0)
            throw new ArgumentException($"{vectors.Length} floats are not whole rows of {Dimension}.", nameof(vectors));
        var rows = vectors.Length / Dimension;
        var codes = new byte[vectors.Length];
        for (var row = 0; row < rows; row++)
        {
            if ((row & 4095) == 0)
                cancellationToken.ThrowIfCancellationRequested();
            Encode(vectors.Slice(row * Dimension, Dimension), codes.AsSpan(row * Dimension, Dimension));
        }
        return new QuantizedVectors(this, codes);
    }

    private void CheckLengths(int vector, int code)
    {
        if (vector != Dimension || code != Dimension)
            throw new ArgumentException($"Rows of {Dimension} are expected; got {vector} floats and {code} codes.");
    }
}
