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
    private readonly byte[] _codes;
    private readonly long[] _codeSums;

    internal QuantizedVectors(ScalarQuantizer quantizer, byte[] codes)
    {
        Quantizer = quantizer;
        _codes = codes;
        var dim = quantizer.Dimension;
        _codeSums = new long[codes.Length / dim];
        for (var row = 0; row < _codeSums.Length; row++)
            _codeSums[row] = Sum(codes.AsSpan(row * dim, dim));
    }

    public ScalarQuantizer Quantizer { get; }

    public int Count => _codeSums.Length;

    /// <summary>Bytes held: the codes and their sums.</summary>
    public long Bytes => _codes.Length + ((long)_codeSums.Length * sizeof(long));

    public ReadOnlySpan<byte> Code(int row) => _codes.AsSpan(row * Quantizer.Dimension, Quantizer.Dimension);

    public QuantizedQuery Encode(ReadOnlySpan<float> query)
    {
        var code = new byte[Quantizer.Dimension];
        Quantizer.Encode(query, code);
        return new QuantizedQuery(code, Sum(code));
    }

    private static long Sum(ReadOnlySpan<byte> code)
    {
        long sum = 0;
        foreach (var c in code)
            sum += c;
        return sum;
    }

    /// <summary>The dot product of the decoded query and row.</summary>
    public float Dot(in QuantizedQuery query, int row)
    {
        var q = Quantizer;
        var min = q.Min;
        return (q.Dimension * min * min) + (q.Step * min * (_codeSums[row] + query.CodeSum)) + (q.Step * q.Step * ByteDotKernel.Score(query.Code, Code(row)));
    }

    /// <summary>Minus the squared Euclidean distance of the decoded query and row (higher is closer).</summary>
    public float NegSquaredL2(in QuantizedQuery query, int row) =>
        Quantizer.Step * Quantizer.Step * ByteNegSquaredL2Kernel.Score(query.Code, Code(row));
}
