using System.Runtime.InteropServices;
using Quiver.Kernels;

namespace Quiver.Index.Quantization;

/// <summary>A query encoded with the same quantizer as the rows it is scored against, and the sum of its codes.</summary>
public readonly record struct QuantizedQuery(byte[] Code, long CodeSum);

/// <summary>
/// Rows as scalar codes, scored against an encoded query with the uint8 kernels. For the dot product (and cosine on
/// normalised rows), with x = min + step·c: <c>x·q = d·min² + step·min·(Σc + Σd) + step²·(c·d)</c>, where the
/// per-row sum Σc is kept beside the codes. For Euclid: <c>|x-q|² = step²·|c-d|²</c>. These are exact for the
/// decoded rows; the approximation is the encoding itself, which rescoring with the full vectors undoes.
/// </summary>
public sealed class QuantizedVectors
{
    private const int FormatVersion = 1;

    private readonly byte[] _codes;

    /// <summary>Per row, <c>step·min·Σc</c>: the row's own term of the decoded dot product.</summary>
    private readonly float[] _rowTerms;

    internal QuantizedVectors(ScalarQuantizer quantizer, byte[] codes)
    {
        Quantizer = quantizer;
        _codes = codes;
        var dim = quantizer.Dimension;
        _rowTerms = new float[codes.Length / dim];
        for (var row = 0; row < _rowTerms.Length; row++)
            _rowTerms[row] = (float)((double)quantizer.Step * quantizer.Min * Sum(codes.AsSpan(row * dim, dim)));
    }

    public ScalarQuantizer Quantizer { get; }

    public int Count => _rowTerms.Length;

    /// <summary>Bytes held: the codes and one float per row.</summary>
    public long Bytes => _codes.Length + ((long)_rowTerms.Length * sizeof(float));

    internal ref byte CodesReference => ref MemoryMarshal.GetArrayDataReference(_codes);

    internal ref float RowTermsReference => ref MemoryMarshal.GetArrayDataReference(_rowTerms);

    public ReadOnlySpan<byte> Code(int row) => _codes.AsSpan(row * Quantizer.Dimension, Quantizer.Dimension);

    public QuantizedQuery Encode(ReadOnlySpan<float> query)
    {
        var code = new byte[Quantizer.Dimension];
        Quantizer.Encode(query, code);
        return new QuantizedQuery(code, Sum(code));
    }

    /// <summary>Encodes <paramref name="query"/> into <paramref name="code"/> and returns the sum of its codes.</summary>
    public long Encode(ReadOnlySpan<float> query, Span<byte> code)
    {
        Quantizer.Encode(query, code);
        return Sum(code);
    }

    private static long Sum(ReadOnlySpan<byte> code)
    {
        long sum = 0;
        foreach (var c in code)
            sum += c;
        return sum;
    }

    /// <summary>
    /// How a uint8 kernel's raw score of an encoded query (whose codes sum to <paramref name="querySum"/>) against
    /// a row becomes the float metric's score: <c>offset + rowTerm + scale·raw</c> for the dot product,
    /// <c>scale·raw</c> for the distances.
    /// </summary>
    /// <exception cref="NotSupportedException">A kernel without a float counterpart here.</exception>
    public (float Offset, float Scale) ScoreTransform<TKernel>(long querySum)
        where TKernel : struct, IByteScoreKernel
    {
        var q = Quantizer;
        if (typeof(TKernel) == typeof(ByteDotKernel))
            return ((float)((q.Dimension * (double)q.Min * q.Min) + ((double)q.Step * q.Min * querySum)), q.Step * q.Step);
        if (typeof(TKernel) == typeof(ByteNegSquaredL2Kernel))
            return (0f, q.Step * q.Step);
        if (typeof(TKernel) == typeof(ByteNegL1Kernel))
            return (0f, q.Step);
        throw new NotSupportedException($"Scalar codes cannot be scored with {typeof(TKernel).Name}.");
    }

    /// <summary>The dot product of the decoded query and row.</summary>
    public float Dot(in QuantizedQuery query, int row)
    {
        var (offset, scale) = ScoreTransform<ByteDotKernel>(query.CodeSum);
        return offset + _rowTerms[row] + (scale * ByteDotKernel.Score(query.Code, Code(row)));
    }

    /// <summary>Minus the squared Euclidean distance of the decoded query and row (higher is closer).</summary>
    public float NegSquaredL2(in QuantizedQuery query, int row) =>
        Quantizer.Step * Quantizer.Step * ByteNegSquaredL2Kernel.Score(query.Code, Code(row));

    /// <summary>Writes the bounds, the quantile they came from and the codes (row terms are derived again when read).</summary>
    public void WriteTo(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        writer.Write(FormatVersion);
        writer.Write(Quantizer.Dimension);
        writer.Write(Count);
        writer.Write(Quantizer.Min);
        writer.Write(Quantizer.Max);
        writer.Write(Quantizer.Quantile ?? 0d);
        writer.Write(_codes);
    }

    /// <summary>Reads what <see cref="WriteTo"/> wrote, expecting <paramref name="rows"/> rows of <paramref name="dimension"/>.</summary>
    /// <exception cref="InvalidDataException">Truncated, of another shape, or of an unknown version.</exception>
    public static QuantizedVectors ReadFrom(Stream stream, int rows, int dimension)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        try
        {
            var version = reader.ReadInt32();
            if (version != FormatVersion)
                throw new InvalidDataException($"Scalar codes of version {version} are not supported (expected {FormatVersion}).");
            var dim = reader.ReadInt32();
            var count = reader.ReadInt32();
            if (dim != dimension || count != rows)
                throw new InvalidDataException($"Scalar codes hold {count} rows of {dim}; the segment has {rows} of {dimension}.");
            var min = reader.ReadSingle();
            var max = reader.ReadSingle();
            var quantile = reader.ReadDouble();
            ScalarQuantizer quantizer;
            try
            {
                quantizer = ScalarQuantizer.FromBounds(dim, min, max, quantile == 0 ? null : quantile);
            }
            catch (ArgumentException ex)
            {
                throw new InvalidDataException(ex.Message, ex);
            }

            var codes = reader.ReadBytes(checked(rows * dim));
            if (codes.Length != rows * dim)
                throw new InvalidDataException("Scalar codes are truncated.");
            return new QuantizedVectors(quantizer, codes);
        }
        catch (EndOfStreamException ex)
        {
            throw new InvalidDataException("Scalar codes are truncated.", ex);
        }
    }
}
