using System.Runtime.InteropServices;
using Quiver.Kernels;

namespace Quiver.Index.Quantization;

/// <summary>A query encoded with the same quantizer as the rows it is scored against, and the sum of its codes.</summary>
public readonly record struct QuantizedQuery(byte[] Code, long CodeSum);

/// <summary>
/// Rows as scalar codes, scored against an encoded query. For the dot product (and cosine on normalised rows),
/// with x = min + step·c: <c>x·q = d·min² + step·min·(Σc + Σd) + step²·(c·d)</c>, where the per-row sum Σc is kept
/// beside the codes. For Euclid: <c>|x-q|² = step²·|c-d|²</c>. These are exact for the decoded rows; the
/// approximation is the encoding itself, which rescoring with the full vectors undoes.
/// </summary>
/// <remarks>
/// Each row is laid out as its code sum (int32) then its codes, <see cref="Stride"/> bytes a row, so scoring a node
/// touches one place in memory; the buffer ends with <see cref="CodeDotKernel.Block"/> spare bytes, so the padded
/// dot kernel may read past the last row.
/// </remarks>
public sealed class QuantizedVectors : QuantizedCodes
{
    private const int FormatVersion = 1;

    /// <summary>Bytes before a row's codes: its code sum.</summary>
    internal const int CodeOffset = sizeof(int);

    private readonly byte[] _rows;

    internal QuantizedVectors(ScalarQuantizer quantizer, ReadOnlySpan<byte> codes)
        : this(quantizer, codes.Length / quantizer.Dimension)
    {
        var dim = quantizer.Dimension;
        for (var row = 0; row < Count; row++)
        {
            codes.Slice(row * dim, dim).CopyTo(_rows.AsSpan((row * Stride) + CodeOffset, dim));
            StoreSum(row);
        }
    }

    /// <summary>Room for <paramref name="count"/> rows, filled by the caller (codes, then <see cref="StoreSum"/>).</summary>
    private QuantizedVectors(ScalarQuantizer quantizer, int count)
    {
        Quantizer = quantizer;
        Count = count;
        // A multiple of 4, so every row's sum is aligned.
        Stride = (CodeOffset + quantizer.Dimension + 3) & ~3;
        _rows = new byte[checked(((long)Count * Stride) + CodeDotKernel.Block) is var n && n <= Array.MaxLength ? (int)n : throw new OutOfMemoryException()];
    }

    private void StoreSum(int row) => MemoryMarshal.Write(_rows.AsSpan(row * Stride), (int)Sum(Code(row)));

    public ScalarQuantizer Quantizer { get; }

    public override int Count { get; }

    public override int Dimension => Quantizer.Dimension;

    /// <summary>Bytes from one row to the next: the code sum, the codes, alignment.</summary>
    public int Stride { get; }

    /// <summary>Bytes held: codes, their sums and alignment.</summary>
    public override long Bytes => _rows.Length;

    internal ref byte RowsReference => ref MemoryMarshal.GetArrayDataReference(_rows);

    public ReadOnlySpan<byte> Code(int row) => _rows.AsSpan((row * Stride) + CodeOffset, Quantizer.Dimension);

    private int CodeSum(int row) => MemoryMarshal.Read<int>(_rows.AsSpan(row * Stride));

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

    /// <summary>
    /// Encodes <paramref name="query"/> for <see cref="CodeDotKernel"/>: each code less 128, as int8, into the first
    /// <see cref="CodeDotKernel.PaddedLength"/> values of <paramref name="signed"/> (zero past the dimension).
    /// Returns the sum of the unsigned codes.
    /// </summary>
    public long EncodeSigned(ReadOnlySpan<float> query, Span<sbyte> signed, Span<byte> scratch)
    {
        var dim = Quantizer.Dimension;
        var code = scratch[..dim];
        Quantizer.Encode(query, code);
        var padded = signed[..CodeDotKernel.PaddedLength(dim)];
        padded[dim..].Clear();
        for (var i = 0; i < dim; i++)
            padded[i] = (sbyte)(code[i] - 128);
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
    /// a row becomes the float metric's score: <c>offset + rowScale·Σc + scale·raw</c> for the dot product (with
    /// <paramref name="signedQuery"/>, the raw score is against the query's codes less 128, which adds
    /// <c>128·Σc</c> to it), <c>scale·raw</c> for the distances.
    /// </summary>
    /// <exception cref="NotSupportedException">A kernel without a float counterpart here.</exception>
    public (float Offset, float RowScale, float Scale) ScoreTransform<TKernel>(long querySum, bool signedQuery = false)
        where TKernel : struct, IByteScoreKernel
    {
        var q = Quantizer;
        if (typeof(TKernel) == typeof(ByteDotKernel))
        {
            var step2 = (double)q.Step * q.Step;
            var offset = (q.Dimension * (double)q.Min * q.Min) + ((double)q.Step * q.Min * querySum);
            var rowScale = ((double)q.Step * q.Min) + (signedQuery ? 128 * step2 : 0);
            return ((float)offset, (float)rowScale, (float)step2);
        }

        if (typeof(TKernel) == typeof(ByteNegSquaredL2Kernel))
            return (0f, 0f, q.Step * q.Step);
        if (typeof(TKernel) == typeof(ByteNegL1Kernel))
            return (0f, 0f, q.Step);
        throw new NotSupportedException($"Scalar codes cannot be scored with {typeof(TKernel).Name}.");
    }

    /// <summary>The dot product of the decoded query and row.</summary>
    public float Dot(in QuantizedQuery query, int row)
    {
        var (offset, rowScale, scale) = ScoreTransform<ByteDotKernel>(query.CodeSum);
        return offset + (rowScale * CodeSum(row)) + (scale * ByteDotKernel.Score(query.Code, Code(row)));
    }

    /// <summary>Minus the squared Euclidean distance of the decoded query and row (higher is closer).</summary>
    public float NegSquaredL2(in QuantizedQuery query, int row) =>
        Quantizer.Step * Quantizer.Step * ByteNegSquaredL2Kernel.Score(query.Code, Code(row));

    /// <summary>Writes the bounds, the quantile they came from and the codes (row terms are derived again when read).</summary>
    public override void WriteTo(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        writer.Write(FormatVersion);
        writer.Write(Quantizer.Dimension);
        writer.Write(Count);
        writer.Write(Quantizer.Min);
        writer.Write(Quantizer.Max);
        writer.Write(Quantizer.Quantile ?? 0d);
        for (var row = 0; row < Count; row++)
            writer.Write(Code(row));
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

            // Read row by row into place: a large segment's codes are never held twice.
            var vectors = new QuantizedVectors(quantizer, rows);
            for (var row = 0; row < rows; row++)
            {
                stream.ReadExactly(vectors._rows.AsSpan((row * vectors.Stride) + CodeOffset, dim));
                vectors.StoreSum(row);
            }

            return vectors;
        }
        catch (EndOfStreamException ex)
        {
            throw new InvalidDataException("Scalar codes are truncated.", ex);
        }
    }
}
