namespace Quiver.Inference;

/// <summary>
/// The stemmer of a BM25 model: a Snowball stemmer for <paramref name="Language"/>, or none when it is
/// <see langword="null"/> (JSON <c>{"type": "none"}</c>, which is not the same as leaving <c>stemmer</c> out:
/// that picks the stemmer of <c>language</c>).
/// </summary>
public sealed record Bm25Stemmer(string? Language)
{
    /// <summary>Stemming turned off explicitly.</summary>
    public static Bm25Stemmer None { get; } = new((string?)null);

    /// <summary>The Snowball stemmer of one language (JSON <c>{"type": "snowball", "language": ...}</c>).</summary>
    public static Bm25Stemmer Snowball(string language) => new(language);
}
