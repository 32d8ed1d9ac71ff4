namespace Quiver.Segment.Points;

/// <summary>
/// One vector of a point, under its vector name ("" for the unnamed vector): dense <see cref="Values"/>, or for a
/// sparse vector space <see cref="Sparse"/>, or for a multivector space <see cref="Multi"/> (and no values).
/// </summary>
public readonly record struct NamedVector(string Name, float[] Values, SparseVector? Sparse = null, MultiVector? Multi = null)
{
    public bool IsSparse => Sparse is not null;

    public bool IsMulti => Multi is not null;

    /// <summary>Stored beside the dense rows (sparse or multi), not in a dense vector store.</summary>
    public bool IsSide => Sparse is not null || Multi is not null;

    public static NamedVector OfSparse(string name, SparseVector sparse) => new(name, [], sparse);

    public static NamedVector OfMulti(string name, MultiVector multi) => new(name, [], null, multi);
}
