namespace Quiver.Segment.PayloadIndex;

/// <summary>Tokenizers of a full-text index (spec <c>TokenizerType</c>).</summary>
public enum TokenizerKind
{
    Word,
    Whitespace,
    Prefix,

    /// <summary>Accepted for compatibility; tokenizes as <see cref="Word"/> (no language segmentation yet).</summary>
    Multilingual,
}

/// <summary>
/// The parameters of a full-text index that affect matching. Each word is processed as Qdrant does: ASCII folding,
/// lower-casing, the stop-word check, then the Snowball stemmer (Lucene.Net's analysis, see Quiver.Text).
/// </summary>
public sealed class TextIndexParams
{
    public bool AsciiFolding { get; init; }

    /// <summary>Languages whose stop-word lists apply (canonical names, e.g. english).</summary>
    public IReadOnlyList<string> StopwordLanguages { get; init; } = [];

    public IReadOnlyList<string> CustomStopwords { get; init; } = [];

    /// <summary>The Snowball stemmer's language (canonical name), or null for no stemming.</summary>
    public string? StemmerLanguage { get; init; }

    public TokenizerKind Tokenizer { get; init; } = TokenizerKind.Word;

    public bool Lowercase { get; init; } = true;

    public int? MinTokenLen { get; init; }

    public int? MaxTokenLen { get; init; }

    public bool PhraseMatching { get; init; }
}
