using System.Collections.Frozen;
using System.Text;
using Quiver.Text;

namespace Quiver.Segment.PayloadIndex;

/// <summary>
/// Splits text into tokens as a full-text index does. <c>word</c>: maximal runs of letters and digits;
/// <c>whitespace</c>: runs of non-whitespace; <c>prefix</c>: words, each indexed with all its prefixes
/// (a query word then matches any word it is a prefix of). Tokens are lowercased unless disabled and dropped when
/// shorter than <c>min_token_len</c> or longer than <c>max_token_len</c>.
/// </summary>
public sealed class TextTokenizer
{
    private readonly TextIndexParams _params;
    private readonly TokenProcessor _processor;

    public TextTokenizer(TextIndexParams parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        _params = parameters;
        IEnumerable<string> stopwords = [.. parameters.StopwordLanguages.SelectMany(StopwordLists.Get), .. parameters.CustomStopwords];
        if (parameters.Lowercase)
            stopwords = stopwords.Select(RustText.ToLower);
        // Length limits stay with this class: the prefix tokenizer applies them to prefixes, not words.
        _processor = new TokenProcessor(
            parameters.Lowercase,
            parameters.AsciiFolding,
            stopwords.ToFrozenSet(StringComparer.Ordinal),
            parameters.StemmerLanguage is { } language ? SnowballStemmers.Factory(language) : null,
            minTokenLen: null,
            maxTokenLen: null);
    }

    /// <summary>A word tokenizer with Qdrant's defaults.</summary>
    public static TextTokenizer Default { get; } = new(new TextIndexParams());

    public TextIndexParams Params => _params;

    /// <summary>Tokens of a query (no prefix expansion).</summary>
    public void TokenizeQuery(string text, List<string> tokens)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(tokens);
        var min = _params.MinTokenLen ?? 0;
        var max = _params.MaxTokenLen ?? int.MaxValue;
        foreach (var word in Words(text))
        {
            var w = word;
            if (_params.Tokenizer == TokenizerKind.Prefix && w.Length > max)
                w = w[..max];
            if (w.Length >= Math.Max(min, 1) && w.Length <= max)
                tokens.Add(w);
        }
    }

    /// <summary>
    /// Tokens of a stored value with their word positions, starting at <paramref name="firstPosition"/>. Returns the
    /// position after the last word.
    /// </summary>
    public int TokenizeDocument(string text, List<(string Token, int Position)> tokens, int firstPosition = 0)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(tokens);
        var min = _params.MinTokenLen ?? 0;
        var max = _params.MaxTokenLen ?? int.MaxValue;
        var position = firstPosition;
        foreach (var word in Words(text))
        {
            if (_params.Tokenizer == TokenizerKind.Prefix)
            {
                var upto = Math.Min(word.Length, max);
                for (var len = Math.Max(min, 1); len <= upto; len++)
                    tokens.Add((word[..len], position));
                position++;
            }
            else if (word.Length >= Math.Max(min, 1) && word.Length <= max)
            {
                tokens.Add((word, position++));
            }
        }

        return position;
    }

    /// <summary>The words of a text, each folded, lower-cased, stemmed as configured; stop words left out.</summary>
    private IEnumerable<string> Words(string text)
    {
        // A stemmer keeps state between calls: one per pass, so concurrent searches never share one.
        var stemmer = _processor.NewStemmer();
        foreach (var word in RawWords(text))
        {
            if (_processor.Process(word, checkMaxLen: false, stemmer) is { } processed)
                yield return processed;
        }
    }

    private IEnumerable<string> RawWords(string text)
    {
        var sb = new StringBuilder();
        var whitespace = _params.Tokenizer == TokenizerKind.Whitespace;
        foreach (var c in text)
        {
            var inWord = whitespace ? !char.IsWhiteSpace(c) : char.IsLetterOrDigit(c);
            if (inWord)
            {
                sb.Append(c);
            }
            else if (sb.Length > 0)
            {
                yield return sb.ToString();
                sb.Clear();
            }
        }

        if (sb.Length > 0)
            yield return sb.ToString();
    }
}
