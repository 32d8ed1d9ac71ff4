using System.Collections.Frozen;
using Lucene.Net.Analysis.Miscellaneous;
using Lucene.Net.Tartarus.Snowball;

namespace Quiver.Text;

/// <summary>
/// What happens to one token after splitting, in Qdrant's order (TokensProcessor::process_token_cow in
/// lib/segment/src/index/field_index/full_text_index/tokenizers/tokens_processor.rs): ASCII folding, lower-casing,
/// the stop-word check, stemming, then the length limits counted in characters after stemming.
/// </summary>
internal sealed class TokenProcessor(
    bool lowercase,
    bool asciiFolding,
    FrozenSet<string> stopwords,
    Func<SnowballProgram>? stemmerFactory,
    int? minTokenLen,
    int? maxTokenLen)
{
    public int? MinTokenLen { get; } = minTokenLen;

    public int? MaxTokenLen { get; } = maxTokenLen;

    /// <summary>A stemmer for one tokenization pass (stemmers are stateful), or null when stemming is off.</summary>
    public SnowballProgram? NewStemmer() => stemmerFactory?.Invoke();

    /// <summary>The processed token, or null when it is empty, a stop word, or outside the length limits.</summary>
    public string? Process(string token, bool checkMaxLen, SnowballProgram? stemmer)
    {
        if (token.Length == 0)
            return null;

        token = Normalize(token);
        if (stopwords.Contains(token))
            return null;

        token = Stem(token, stemmer);
        if (MinTokenLen is { } min && RustText.CharCount(token) < min)
            return null;
        if (checkMaxLen && MaxTokenLen is { } max && RustText.CharCount(token) > max)
            return null;
        return token;
    }

    /// <summary>ASCII folding then lower-casing, as configured: the steps before the stop-word check.</summary>
    public string Normalize(string token)
    {
        if (asciiFolding)
            token = FoldToAscii(token);
        return lowercase ? RustText.ToLower(token) : token;
    }

    public static string Stem(string token, SnowballProgram? stemmer)
    {
        if (stemmer is null)
            return token;
        stemmer.SetCurrent(token);
        stemmer.Stem();
        return stemmer.Current;
    }

    /// <summary>Lucene's ASCIIFoldingFilter table, which Qdrant's ascii_folding.rs was translated from.</summary>
    private static string FoldToAscii(string token)
    {
        if (System.Text.Ascii.IsValid(token))
            return token;

        var input = token.ToCharArray();
        var output = new char[input.Length * 4];
        var length = ASCIIFoldingFilter.FoldToASCII(input, 0, output, 0, input.Length);
        return new string(output, 0, length);
    }
}
