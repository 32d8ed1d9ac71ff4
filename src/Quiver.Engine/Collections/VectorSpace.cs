namespace Quiver.Engine.Collections;

/// <summary>One vector space of a collection: the unnamed default (name "") or a named vector.</summary>
public sealed record VectorSpace(string Name, int Dimension, Distance Distance);
