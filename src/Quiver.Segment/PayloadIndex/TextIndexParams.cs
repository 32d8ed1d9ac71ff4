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
/// The parameters of a full-text index that affect matching. <c>ascii_folding</c>, <c>stopwords</c> and
/// <c>stemmer</c> are accepted and echoed back but not applied yet.
/// </summary>
public sealed class TextIndexParams
{
    public TokenizerKind Tokenizer { get; init; } = TokenizerKind.Word;

    public bool Lowercase { get; init; } = true;

    public int? MinTokenLen { get; init; }

    public int? MaxTokenLen { get; init; }

    public bool PhraseMatching { get; init; }
}
