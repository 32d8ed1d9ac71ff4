namespace Quiver.Segment.Points;

/// <summary>
/// One vector of a point, under its vector name ("" for the unnamed vector): dense <see cref="Values"/>, or for a
/// sparse vector space <see cref="Sparse"/> (and no values).
/// </summary>
public readonly record struct NamedVector(string Name, float[] Values, SparseVector? Sparse = null)
{
    public bool IsSparse => Sparse is not null;

    public static NamedVector OfSparse(string name, SparseVector sparse) => new(name, [], sparse);
}
