namespace Quiver.Index.Quantization;

/// <summary>Qdrant's <c>binary.encoding</c>: how many bits a component gets.</summary>
public enum BinaryEncoding
{
    /// <summary>One bit a component: above its mean or not (32x smaller than float32).</summary>
    OneBit,

    /// <summary>
    /// Two bits a component, a thermometer code of three levels (below, around, above its mean): the Hamming
    /// distance of two codes is the sum of their level differences.
    /// </summary>
    TwoBits,

    /// <summary>Two bits for the half of the components that vary most, one bit for the others.</summary>
    OneAndHalfBits,
}

/// <summary>
/// Binary quantization: every code bit says whether one component is above one threshold. The thresholds are
/// learnt per component from the data: its mean for one bit, its mean ± <see cref="LevelSpread"/> standard
/// deviations for the two bits of a three-level component (each level then holds about a third of the values of a
/// normally distributed component). Codes are compared by Hamming distance, or, with an asymmetric query, by the
/// query's dot product with the components the code stands for.
/// </summary>
public sealed class BinaryQuantizer
{
    /// <summary>Thresholds of a three-level component, in standard deviations from its mean (±0.43 splits a normal distribution in thirds).</summary>
    public const float LevelSpread = 0.43f;

    /// <summary>Rows sampled to learn the means and deviations.</summary>
    private const int SampleRows = 20_000;

    private readonly int[] _slotComponent;
    private readonly float[] _slotThreshold;

    private readonly float[] _means;
    private readonly float[] _deviations;
    private readonly bool[] _twoBits;

    private BinaryQuantizer(BinaryEncoding encoding, float[] means, float[] deviations, bool[] twoBits)
    {
        Encoding = encoding;
        _means = means;
        _deviations = deviations;
        _twoBits = twoBits;
        var slots = new List<(int Component, float Threshold)>();
        for (var i = 0; i < means.Length; i++)
        {
            if (twoBits[i])
            {
                slots.Add((i, means[i] - (LevelSpread * deviations[i])));
                slots.Add((i, means[i] + (LevelSpread * deviations[i])));
            }
            else
            {
                slots.Add((i, means[i]));
            }
        }

        _slotComponent = [.. slots.Select(s => s.Component)];
        _slotThreshold = [.. slots.Select(s => s.Threshold)];
        Words = (_slotComponent.Length + 63) / 64;
    }

    public BinaryEncoding Encoding { get; }

    public int Dimension => _means.Length;

    /// <summary>Per component, the mean learnt from the data.</summary>
    public ReadOnlySpan<float> Means => _means;

    /// <summary>Per component, the standard deviation learnt from the data.</summary>
    public ReadOnlySpan<float> Deviations => _deviations;

    /// <summary>Per component, whether it is coded with two bits (three levels).</summary>
    public ReadOnlySpan<bool> TwoBitComponents => _twoBits;

    /// <summary>Bits a code holds.</summary>
    public int Bits => _slotComponent.Length;

    /// <summary>64-bit words a code takes.</summary>
    public int Words { get; }

    /// <summary>The component bit <paramref name="slot"/> of a code looks at.</summary>
    public int SlotComponent(int slot) => _slotComponent[slot];

    /// <summary>A quantizer with the statistics given (as persisted with the codes).</summary>
    /// <exception cref="ArgumentException">Lengths that differ, or values that are not finite.</exception>
    public static BinaryQuantizer FromStatistics(BinaryEncoding encoding, float[] means, float[] deviations, bool[] twoBits)
    {
        ArgumentNullException.ThrowIfNull(means);
        ArgumentNullException.ThrowIfNull(deviations);
        ArgumentNullException.ThrowIfNull(twoBits);
        if (means.Length == 0 || deviations.Length != means.Length || twoBits.Length != means.Length)
            throw new ArgumentException($"Statistics of {means.Length}, {deviations.Length} and {twoBits.Length} components do not match.", nameof(means));
        if (!means.All(float.IsFinite) || !deviations.All(d => float.IsFinite(d) && d >= 0))
            throw new ArgumentException("Means and deviations must be finite, deviations not negative.", nameof(means));
        // Copies: the thresholds are derived from them once, so the caller's arrays must not change them later.
        return new BinaryQuantizer(encoding, [.. means], [.. deviations], [.. twoBits]);
    }

    /// <summary>Learns per-component means and deviations from <paramref name="vectors"/> (rows sampled evenly).</summary>
    /// <exception cref="ArgumentException">No rows, a partial row, or values that are not finite.</exception>
    public static BinaryQuantizer Train(ReadOnlySpan<float> vectors, int dimension, BinaryEncoding encoding)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
        if (vectors.Length == 0 || vectors.Length % dimension != 0)
            throw new ArgumentException($"{vectors.Length} floats are not whole rows of {dimension}.", nameof(vectors));
        var rows = vectors.Length / dimension;
        var stride = (rows + SampleRows - 1) / SampleRows;
        var sum = new double[dimension];
        var squares = new double[dimension];
        var n = 0;
        for (var row = 0; row < rows; row += stride)
        {
            var v = vectors.Slice(row * dimension, dimension);
            for (var i = 0; i < dimension; i++)
            {
                sum[i] += v[i];
                squares[i] += (double)v[i] * v[i];
            }

            n++;
        }

        var means = new float[dimension];
        var deviations = new float[dimension];
        for (var i = 0; i < dimension; i++)
        {
            var mean = sum[i] / n;
            means[i] = (float)mean;
            deviations[i] = (float)Math.Sqrt(Math.Max(0, (squares[i] / n) - (mean * mean)));
        }

        if (!means.All(float.IsFinite) || !deviations.All(float.IsFinite))
            throw new ArgumentException("The vectors hold values that are not finite.", nameof(vectors));
        var twoBits = new bool[dimension];
        switch (encoding)
        {
            case BinaryEncoding.TwoBits:
                Array.Fill(twoBits, true);
                break;
            case BinaryEncoding.OneAndHalfBits:
                // The half that varies most gets the second bit: it carries most of the distance.
                foreach (var i in Enumerable.Range(0, dimension).OrderByDescending(i => deviations[i]).ThenBy(i => i).Take(dimension / 2))
                    twoBits[i] = true;
                break;
        }

        return new BinaryQuantizer(encoding, means, deviations, twoBits);
    }

    /// <summary>Encodes one row into <see cref="Words"/> words.</summary>
    public void Encode(ReadOnlySpan<float> vector, Span<ulong> code)
    {
        if (vector.Length != Dimension || code.Length < Words)
            throw new ArgumentException($"A row of {Dimension} floats and {Words} words are expected; got {vector.Length} and {code.Length}.");
        code[..Words].Clear();
        for (var slot = 0; slot < _slotComponent.Length; slot++)
        {
            if (vector[_slotComponent[slot]] > _slotThreshold[slot])
                code[slot >> 6] |= 1UL << slot;
        }
    }

    /// <summary>Encodes every row of <paramref name="vectors"/>.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public BinaryCodes EncodeAll(ReadOnlySpan<float> vectors, bool asymmetricQuery = false, CancellationToken cancellationToken = default)
    {
        if (vectors.Length % Dimension != 0)
            throw new ArgumentException($"{vectors.Length} floats are not whole rows of {Dimension}.", nameof(vectors));
        var rows = vectors.Length / Dimension;
        var words = new ulong[checked((long)rows * Words) is var n && n <= Array.MaxLength ? (int)n : throw new OutOfMemoryException()];
        for (var row = 0; row < rows; row++)
        {
            if ((row & 4095) == 0)
                cancellationToken.ThrowIfCancellationRequested();
            Encode(vectors.Slice(row * Dimension, Dimension), words.AsSpan(row * Words, Words));
        }

        return new BinaryCodes(this, words, asymmetricQuery);
    }

    /// <summary>
    /// The weight each code bit adds to an asymmetric score of <paramref name="query"/>: the query's dot product
    /// with the row the code stands for is <c>constant + Σ weight[slot] · bit[slot]</c>. A component's levels stand
    /// for its mean plus a multiple of its deviation: ±0.8 (one bit: the mean of a half-normal) or -1.09, 0, +1.09
    /// (three levels: the means of the outer thirds). Returns the constant.
    /// </summary>
    public float QueryWeights(ReadOnlySpan<float> query, Span<float> weights)
    {
        if (query.Length != Dimension || weights.Length < Bits)
            throw new ArgumentException($"A query of {Dimension} floats and {Bits} weights are expected; got {query.Length} and {weights.Length}.");
        double constant = 0;
        for (var i = 0; i < Dimension; i++)
            constant += (double)query[i] * Means[i];
        for (var slot = 0; slot < Bits; slot++)
        {
            var i = _slotComponent[slot];
            var scale = query[i] * Deviations[i];
            if (TwoBitComponents[i])
            {
                // Level 0, 1, 2 stand for -1.09, 0, +1.09: each bit set adds 1.09, starting from -1.09.
                weights[slot] = 1.09f * scale;
                if (slot == 0 || _slotComponent[slot - 1] != i)
                    constant -= 1.09 * scale;
            }
            else
            {
                weights[slot] = 1.6f * scale;
                constant -= 0.8 * scale;
            }
        }

        return (float)constant;
    }
}
