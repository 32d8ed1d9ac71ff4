namespace Quiver.Inference;

/// <summary>
/// The stop-word filter of a BM25 model: the predefined lists of <paramref name="Languages"/> merged with the
/// <paramref name="Custom"/> words. JSON gives it either as a language name (<c>"english"</c>) or as
/// <c>{"languages": [...], "custom": [...]}</c>; an empty set turns the filter off.
/// </summary>
public sealed record Bm25Stopwords(IReadOnlyList<string> Languages, IReadOnlyList<string> Custom)
{
    /// <summary>No stop words at all.</summary>
    public static Bm25Stopwords None { get; } = new([], []);

    /// <summary>The predefined list of one language.</summary>
    public static Bm25Stopwords ForLanguage(string language) => new([language], []);
}
