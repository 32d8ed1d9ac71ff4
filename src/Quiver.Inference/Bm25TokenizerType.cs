namespace Quiver.Inference;

/// <summary>How BM25 splits text into tokens (Qdrant's <c>TokenizerType</c>).</summary>
public enum Bm25TokenizerType
{
    /// <summary>Split on every character that is not a letter or a digit (the default).</summary>
    Word,

    /// <summary>Split on Unicode white space only, so punctuation stays inside tokens.</summary>
    Whitespace,

    /// <summary>
    /// Like <see cref="Word"/>, but documents index every prefix of each word (from <c>min_token_len</c>
    /// to <c>max_token_len</c> characters) and queries use the longest prefix only, for search-as-you-type.
    /// </summary>
    Prefix,

    /// <summary>
    /// Qdrant segments non-Latin scripts with charabia and vaporetto; here it is <see cref="Word"/> that also
    /// drops tokens without any letter (which Qdrant does too), with no dictionary segmentation.
    /// </summary>
    Multilingual,
}
