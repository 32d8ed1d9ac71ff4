using System.Text;
using Quiver.Text;

namespace Quiver.Inference.Internal;

/// <summary>
/// Splits text into BM25 tokens the way Qdrant's Tokenizer does
/// (lib/segment/src/index/field_index/full_text_index/tokenizers/mod.rs): documents through
/// <c>tokenize_doc</c>, queries through <c>tokenize_query</c>, which differ only for the prefix tokenizer.
/// </summary>
internal sealed class Bm25Analyzer(Bm25TokenizerType tokenizer, TokenProcessor processor)
{
    /// <summary>The tokens of a document, repeats kept, in text order.</summary>
    public List<string> TokenizeDocument(string text)
    {
        var tokens = new List<string>();
        var stemmer = processor.NewStemmer();
        switch (tokenizer)
        {
            case Bm25TokenizerType.Whitespace:
                foreach (var word in Split(text, RustText.IsWhitespace))
                    Add(tokens, processor.Process(word, checkMaxLen: true, stemmer));
                break;
            case Bm25TokenizerType.Prefix:
                foreach (var word in Split(text, IsWordSeparator))
                {
                    if (processor.Process(word, checkMaxLen: false, stemmer) is { } processed)
                        AddPrefixes(tokens, processed);
                }

                break;
            default:
                TokenizeWords(text, tokens, stemmer);
                break;
        }

        return tokens;
    }

    /// <summary>The tokens of a query, repeats kept, in text order.</summary>
    public List<string> TokenizeQuery(string text)
    {
        if (tokenizer != Bm25TokenizerType.Prefix)
            return TokenizeDocument(text);

        // A query word is matched as the longest indexed prefix of itself, and stop words are kept:
        // "the" may be the start of "theory".
        var tokens = new List<string>();
        var stemmer = processor.NewStemmer();
        foreach (var word in Split(text, IsWordSeparator))
        {
            var processed = TokenProcessor.Stem(processor.Normalize(word), stemmer);
            if (processor.MinTokenLen is { } min && RustText.CharCount(processed) < min)
                continue;
            var length = RustText.PrefixLength(processed, processor.MaxTokenLen ?? int.MaxValue);
            tokens.Add(length < 0 ? processed : processed[..length]);
        }

        return tokens;
    }

    private void TokenizeWords(string text, List<string> tokens, Lucene.Net.Tartarus.Snowball.SnowballProgram? stemmer)
    {
        var multilingual = tokenizer == Bm25TokenizerType.Multilingual;
        foreach (var word in Split(text, IsWordSeparator))
        {
            // Qdrant's multilingual tokenizer skips tokens without a letter (numbers, for instance).
            if (multilingual && !HasAlphabetic(word))
                continue;
            Add(tokens, processor.Process(word, checkMaxLen: true, stemmer));
        }
    }

    /// <summary>Every prefix from min_token_len (default 1) to max_token_len characters, the whole word last.</summary>
    private void AddPrefixes(List<string> tokens, string word)
    {
        var min = processor.MinTokenLen ?? 1;
        var max = processor.MaxTokenLen ?? int.MaxValue;
        for (var n = min; n <= max; n++)
        {
            var length = RustText.PrefixLength(word, n);
            if (length < 0)
            {
                tokens.Add(word);
                break;
            }

            tokens.Add(word[..length]);
        }
    }

    private static void Add(List<string> tokens, string? token)
    {
        if (token is not null)
            tokens.Add(token);
    }

    private static bool IsWordSeparator(Rune rune) => !RustText.IsAlphanumeric(rune);

    private static bool HasAlphabetic(string word)
    {
        foreach (var rune in word.EnumerateRunes())
        {
            if (RustText.IsAlphabetic(rune))
                return true;
        }

        return false;
    }

    /// <summary>The non-empty runs of text between separators.</summary>
    private static IEnumerable<string> Split(string text, Func<Rune, bool> isSeparator)
    {
        var start = 0;
        var index = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            if (isSeparator(rune))
            {
                if (index > start)
                    yield return text[start..index];
                start = index + rune.Utf16SequenceLength;
            }

            index += rune.Utf16SequenceLength;
        }

        if (index > start)
            yield return text[start..index];
    }
}
