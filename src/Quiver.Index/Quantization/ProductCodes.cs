using System.Runtime.InteropServices;

namespace Quiver.Index.Quantization;

/// <summary>Rows as product-quantization codes (<see cref="ProductQuantizer"/>): one byte a subspace.</summary>
public sealed class ProductCodes : QuantizedCodes
{
    private const int FormatVersion = 1;

    private readonly byte[] _codes;

    internal ProductCodes(ProductQuantizer quantizer, byte[] codes)
    {
        Quantizer = quantizer;
        _codes = codes;
        Count = codes.Length / quantizer.Subspaces;
    }

    public ProductQuantizer Quantizer { get; }

    public override int Count { get; }

    public override int Dimension => Quantizer.Dimension;

    /// <summary>Codes and codebooks.</summary>
    public override long Bytes => _codes.Length + Quantizer.CodebookBytes;

    internal ref byte CodesReference => ref MemoryMarshal.GetArrayDataReference(_codes);

    public ReadOnlySpan<byte> Code(int row) => _codes.AsSpan(row * Quantizer.Subspaces, Quantizer.Subspaces);

    /// <summary>The asymmetric score of <paramref name="query"/> against a row (the sum of its table entries).</summary>
    public float Score(ReadOnlySpan<float> query, ProductScore score, int row)
    {
        var table = new float[Quantizer.Subspaces * ProductQuantizer.MaxCentroids];
        Quantizer.ScoreTable(query, score, table);
        var code = Code(row);
        var sum = 0f;
        for (var s = 0; s < code.Length; s++)
            sum += table[(s * ProductQuantizer.MaxCentroids) + code[s]];
        return sum;
    }

    public override void WriteTo(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        var q = Quantizer;
        writer.Write(FormatVersion);
        writer.Write(q.Dimension);
        writer.Write(Count);
        writer.Write(q.Subspaces);
        writer.Write(q.Centroids);
        for (var s = 0; s < q.Subspaces; s++)
            writer.Write(MemoryMarshal.AsBytes(q.Codebook(s)));
        writer.Write(_codes);
    }

    /// <summary>Reads what <see cref="WriteTo"/> wrote, expecting <paramref name="rows"/> rows of <paramref name="dimension"/>.</summary>
    /// <exception cref="InvalidDataException">Truncated, of another shape, or of an unknown version.</exception>
    public static ProductCodes ReadFrom(Stream stream, int rows, int dimension)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        try
        {
            var version = reader.ReadInt32();
            if (version != FormatVersion)
                throw new InvalidDataException($"Product codes of version {version} are not supported (expected {FormatVersion}).");
            var dim = reader.ReadInt32();
            var count = reader.ReadInt32();
            if (dim != dimension || count != rows)
                throw new InvalidDataException($"Product codes hold {count} rows of {dim}; the segment has {rows} of {dimension}.");
            var subspaces = reader.ReadInt32();
            var centroids = reader.ReadInt32();
            if (subspaces < 1 || subspaces > dim || centroids < 1 || centroids > ProductQuantizer.MaxCentroids)
                throw new InvalidDataException($"Product codes of {subspaces} subspaces and {centroids} centroids do not fit {dim} components.");
            var books = new float[subspaces][];
            for (var s = 0; s < subspaces; s++)
            {
                var width = (int)((long)(s + 1) * dim / subspaces) - (int)((long)s * dim / subspaces);
                books[s] = new float[width * centroids];
                ReadExactly(reader, MemoryMarshal.AsBytes(books[s].AsSpan()));
            }

            ProductQuantizer quantizer;
            try
            {
                quantizer = ProductQuantizer.FromCodebooks(dim, subspaces, centroids, books);
            }
            catch (ArgumentException ex)
            {
                throw new InvalidDataException(ex.Message, ex);
            }

            var codes = new byte[checked((long)rows * subspaces)];
            ReadExactly(reader, codes);
            if (centroids < ProductQuantizer.MaxCentroids && codes.Any(c => c >= centroids))
                throw new InvalidDataException($"Product codes name centroids past the {centroids} of their codebooks.");
            return new ProductCodes(quantizer, codes);
        }
        catch (EndOfStreamException ex)
        {
            throw new InvalidDataException("Product codes are truncated.", ex);
        }
    }

    private static void ReadExactly(BinaryReader reader, Span<byte> destination)
    {
        if (reader.BaseStream.ReadAtLeast(destination, destination.Length, throwOnEndOfStream: false) != destination.Length)
            throw new InvalidDataException("Product codes are truncated.");
    }
}
