namespace Quiver.Index.Quantization;

/// <summary>Codes of a segment's rows, of one quantization kind: what a segment holds and persists.</summary>
public abstract class QuantizedCodes
{
    /// <summary>Rows encoded.</summary>
    public abstract int Count { get; }

    /// <summary>Components of a row.</summary>
    public abstract int Dimension { get; }

    /// <summary>Bytes held in memory.</summary>
    public abstract long Bytes { get; }

    /// <summary>Writes the codes with what is needed to score against them.</summary>
    public abstract void WriteTo(Stream stream);
}
