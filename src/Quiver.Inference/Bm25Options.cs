using System.Text.Json;
using Quiver.Inference.Internal;

namespace Quiver.Inference;

/// <summary>
/// The options of the <c>qdrant/bm25</c> model, field for field Qdrant's REST <c>Bm25Config</c>
/// (lib/api/src/rest/schema.rs, <c>Bm25Config</c> with its flattened <c>TextPreprocessingConfig</c>), with
/// Qdrant's defaults.
/// </summary>
public sealed record Bm25Options
{
    /// <summary>The options when a request gives none.</summary>
    public static Bm25Options Default { get; } = new();

    /// <summary>Term-frequency saturation <c>k</c> (k1), finite and at least 0.</summary>
    public double K { get; init; } = 1.2;

    /// <summary>Length normalisation <c>b</c>, in [0, 1].</summary>
    public double B { get; init; } = 0.75;

    /// <summary>The expected average document length in tokens, greater than 0.</summary>
    public double AvgLen { get; init; } = 256;

    public Bm25TokenizerType Tokenizer { get; init; } = Bm25TokenizerType.Word;

    /// <summary>
    /// Picks the default stop words and stemmer. Qdrant accepts any string here: one that names no language
    /// (the deprecated <c>"none"</c>) turns both defaults off, and so does it here.
    /// </summary>
    public string Language { get; init; } = "english";

    public bool Lowercase { get; init; } = true;

    /// <summary>Fold accented Latin letters to ASCII (Lucene's ASCIIFoldingFilter table, as Qdrant's is).</summary>
    public bool AsciiFolding { get; init; }

    /// <summary>The stop words; <see langword="null"/> means the list of <see cref="Language"/>.</summary>
    public Bm25Stopwords? Stopwords { get; init; }

    /// <summary>The stemmer; <see langword="null"/> means the Snowball stemmer of <see cref="Language"/>.</summary>
    public Bm25Stemmer? Stemmer { get; init; }

    /// <summary>Tokens shorter than this many characters (after stemming) are dropped.</summary>
    public int? MinTokenLen { get; init; }

    /// <summary>Tokens longer than this many characters (after stemming) are dropped.</summary>
    public int? MaxTokenLen { get; init; }

    /// <summary>
    /// Reads a <c>Bm25Config</c> JSON object (a <c>Document.options</c>). Missing or null means the defaults.
    /// Unlike Qdrant, which ignores fields it does not know, an unknown field is an error here, so a typo does
    /// not silently change nothing.
    /// </summary>
    /// <exception cref="InferenceInputException">An unknown field, a value of the wrong type, or one out of range.</exception>
    public static Bm25Options Parse(JsonElement? options) => Bm25OptionsParser.Parse(options);
}
