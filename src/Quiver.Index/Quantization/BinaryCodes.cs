using System.Numerics;
using System.Runtime.InteropServices;

namespace Quiver.Index.Quantization;

/// <summary>
/// Rows as binary codes (<see cref="BinaryQuantizer"/>), <see cref="BinaryQuantizer.Words"/> 64-bit words a row.
/// Symmetric scores are <c>1 - 2·hamming / bits</c>, a similarity from -1 to 1 whatever the metric; asymmetric
/// scores (a float query against the components the codes stand for) approximate the dot product itself.
/// </summary>
public sealed class BinaryCodes : QuantizedCodes
{
    private const int FormatVersion = 1;

    private readonly ulong[] _words;

    internal BinaryCodes(BinaryQuantizer quantizer, ulong[] words, bool asymmetricQuery)
    {
        Quantizer = quantizer;
        _words = words;
        Count = words.Length / quantizer.Words;
        AsymmetricQuery = asymmetricQuery;
    }

    /// <summary>
    /// Whether queries are scored asymmetrically (Qdrant's <c>query_encoding</c> scalar4bits or scalar8bits; here the
    /// query keeps its floats): more accurate than Hamming, and slower.
    /// </summary>
    public bool AsymmetricQuery { get; }

    public BinaryQuantizer Quantizer { get; }

    public override int Count { get; }

    public override int Dimension => Quantizer.Dimension;

    public override long Bytes => (long)_words.Length * sizeof(ulong);

    internal ref ulong WordsReference => ref MemoryMarshal.GetArrayDataReference(_words);

    public ReadOnlySpan<ulong> Code(int row) => _words.AsSpan(row * Quantizer.Words, Quantizer.Words);

    /// <summary>Bits in which two codes differ.</summary>
    public static int Hamming(ReadOnlySpan<ulong> a, ReadOnlySpan<ulong> b)
    {
        if (a.Length != b.Length)
            throw new ArgumentException($"Codes of {a.Length} and {b.Length} words cannot be compared.", nameof(b));
        var bits = 0;
        for (var i = 0; i < a.Length; i++)
            bits += BitOperations.PopCount(a[i] ^ b[i]);
        return bits;
    }

    /// <summary>The symmetric score of an encoded query against a row: <c>1 - 2·hamming / bits</c>.</summary>
    public float Similarity(ReadOnlySpan<ulong> query, int row) => 1f - (2f * Hamming(query, Code(row)) / Quantizer.Bits);

    /// <summary>The asymmetric score of <paramref name="query"/> against a row: its dot product with the row the code stands for.</summary>
    public float Dot(ReadOnlySpan<float> query, int row)
    {
        var weights = new float[Quantizer.Bits];
        var score = Quantizer.QueryWeights(query, weights);
        var code = Code(row);
        for (var slot = 0; slot < Quantizer.Bits; slot++)
        {
            if ((code[slot >> 6] & (1UL << slot)) != 0)
                score += weights[slot];
        }

        return score;
    }

    public override void WriteTo(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        var q = Quantizer;
        writer.Write(FormatVersion);
        writer.Write((int)q.Encoding);
        writer.Write(AsymmetricQuery);
        writer.Write(q.Dimension);
        writer.Write(Count);
        writer.Write(MemoryMarshal.AsBytes(q.Means));
        writer.Write(MemoryMarshal.AsBytes(q.Deviations));
        foreach (var two in q.TwoBitComponents)
            writer.Write(two);
        writer.Write(MemoryMarshal.AsBytes(_words.AsSpan()));
    }

    /// <summary>Reads what <see cref="WriteTo"/> wrote, expecting <paramref name="rows"/> rows of <paramref name="dimension"/>.</summary>
    /// <exception cref="InvalidDataException">Truncated, of another shape, or of an unknown version.</exception>
    public static BinaryCodes ReadFrom(Stream stream, int rows, int dimension)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        try
        {
            var version = reader.ReadInt32();
            if (version != FormatVersion)
                throw new InvalidDataException($"Binary codes of version {version} are not supported (expected {FormatVersion}).");
            var encoding = reader.ReadInt32();
            if (!Enum.IsDefined((BinaryEncoding)encoding))
                throw new InvalidDataException($"Binary codes of unknown encoding {encoding}.");
            var asymmetric = reader.ReadBoolean();
            var dim = reader.ReadInt32();
            var count = reader.ReadInt32();
            if (dim != dimension || count != rows)
                throw new InvalidDataException($"Binary codes hold {count} rows of {dim}; the segment has {rows} of {dimension}.");
            var means = new float[dim];
            var deviations = new float[dim];
            ReadExactly(reader, MemoryMarshal.AsBytes(means.AsSpan()));
            ReadExactly(reader, MemoryMarshal.AsBytes(deviations.AsSpan()));
            var twoBits = new bool[dim];
            for (var i = 0; i < dim; i++)
                twoBits[i] = reader.ReadBoolean();
            BinaryQuantizer quantizer;
            try
            {
                quantizer = BinaryQuantizer.FromStatistics((BinaryEncoding)encoding, means, deviations, twoBits);
            }
            catch (ArgumentException ex)
            {
                throw new InvalidDataException(ex.Message, ex);
            }

            var words = new ulong[checked((long)rows * quantizer.Words)];
            ReadExactly(reader, MemoryMarshal.AsBytes(words.AsSpan()));
            return new BinaryCodes(quantizer, words, asymmetric);
        }
        catch (EndOfStreamException ex)
        {
            throw new InvalidDataException("Binary codes are truncated.", ex);
        }
    }

    private static void ReadExactly(BinaryReader reader, Span<byte> destination)
    {
        if (reader.BaseStream.ReadAtLeast(destination, destination.Length, throwOnEndOfStream: false) != destination.Length)
            throw new InvalidDataException("Binary codes are truncated.");
    }
}
