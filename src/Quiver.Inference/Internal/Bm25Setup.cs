using System.Collections.Frozen;
using Lucene.Net.Tartarus.Snowball;
using Quiver.Text;

namespace Quiver.Inference.Internal;

/// <summary>
/// Checks <see cref="Bm25Options"/> and turns them into a tokenizer, resolving the language defaults the way
/// Qdrant's build_tokens_processor does (src/common/inference/bm25_inference.rs): no <c>stemmer</c> means the
/// Snowball stemmer of <c>language</c> if it has one, no <c>stopwords</c> means the list of <c>language</c> if
/// it has one, and a language Qdrant does not know turns both off.
/// </summary>
internal static class Bm25Setup
{
    /// <summary>Throws <see cref="InferenceInputException"/> for a value Qdrant (or this port) refuses.</summary>
    public static void Validate(Bm25Options options) => Build(options);

    public static Bm25Analyzer Build(Bm25Options options)
    {
        // Bm25Params::validate in lib/bm25/src/lib.rs.
        if (!double.IsFinite(options.K) || options.K < 0)
            throw new InferenceInputException($"BM25 option \"k\" must be finite and >= 0, got {options.K}", "k");
        if (!double.IsFinite(options.B) || options.B is < 0 or > 1)
            throw new InferenceInputException($"BM25 option \"b\" must be finite and in [0, 1], got {options.B}", "b");
        if (!double.IsFinite(options.AvgLen) || options.AvgLen <= 0)
            throw new InferenceInputException($"BM25 option \"avg_len\" must be finite and > 0, got {options.AvgLen}", "avg_len");
        if (options.MinTokenLen is < 0)
            throw new InferenceInputException("BM25 option \"min_token_len\" must be >= 0", "min_token_len");
        if (options.MaxTokenLen is < 0)
            throw new InferenceInputException("BM25 option \"max_token_len\" must be >= 0", "max_token_len");
        if (!Enum.IsDefined(options.Tokenizer))
            throw new InferenceInputException($"BM25 option \"tokenizer\" has no value {options.Tokenizer}", "tokenizer");

        var language = options.Language ?? "english";
        var processor = new TokenProcessor(
            options.Lowercase,
            options.AsciiFolding,
            ResolveStopwords(options, language),
            ResolveStemmer(options.Stemmer, language),
            options.MinTokenLen,
            options.MaxTokenLen);
        return new Bm25Analyzer(options.Tokenizer, processor);
    }

    private static Func<SnowballProgram>? ResolveStemmer(Bm25Stemmer? stemmer, string language)
    {
        if (stemmer is null)
        {
            var fromLanguage = TextLanguages.SnowballLanguage(language);
            if (fromLanguage is null)
                return null;
            if (!SnowballStemmers.IsAvailable(fromLanguage))
            {
                throw new InferenceInputException(
                    $"BM25 option \"language\": there is no Snowball stemmer for \"{fromLanguage}\" here "
                    + $"(available: {string.Join(", ", SnowballStemmers.AvailableLanguages)}); "
                    + "set \"stemmer\": {\"type\": \"none\"} to go without",
                    "language");
            }

            return SnowballStemmers.Factory(fromLanguage);
        }

        if (stemmer.Language is null)
            return null;

        var canonical = TextLanguages.SnowballLanguage(stemmer.Language)
            ?? throw new InferenceInputException(
                $"BM25 option \"stemmer.language\": unknown Snowball language \"{stemmer.Language}\" "
                + $"(expected one of {string.Join(", ", TextLanguages.SnowballLanguageNames)})",
                "stemmer.language");
        if (!SnowballStemmers.IsAvailable(canonical))
        {
            throw new InferenceInputException(
                $"BM25 option \"stemmer.language\": there is no Snowball stemmer for \"{canonical}\" here "
                + $"(available: {string.Join(", ", SnowballStemmers.AvailableLanguages)})",
                "stemmer.language");
        }

        return SnowballStemmers.Factory(canonical);
    }

    private static FrozenSet<string> ResolveStopwords(Bm25Options options, string language)
    {
        List<string> languages;
        IReadOnlyList<string> custom;
        string field;
        if (options.Stopwords is null)
        {
            languages = TextLanguages.StopwordLanguage(language) is { } known ? [known] : [];
            custom = [];
            field = "language";
        }
        else
        {
            field = "stopwords";
            languages = [];
            foreach (var name in options.Stopwords.Languages ?? [])
            {
                languages.Add(TextLanguages.StopwordLanguage(name)
                    ?? throw new InferenceInputException(
                        $"BM25 option \"stopwords\": unknown language \"{name}\" "
                        + $"(expected one of {string.Join(", ", TextLanguages.StopwordLanguageNames)})",
                        field));
            }

            custom = options.Stopwords.Custom ?? [];
        }

        var words = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in languages)
        {
            if (!StopwordLists.IsAvailable(name))
            {
                throw new InferenceInputException(
                    $"BM25 option \"{field}\": there is no stop-word list for \"{name}\" here "
                    + $"(available: {string.Join(", ", StopwordLists.AvailableLanguages)}); "
                    + "set \"stopwords\" to {\"custom\": [...]} (or to {} for none)",
                    field);
            }

            words.UnionWith(StopwordLists.Get(name));
        }

        words.UnionWith(custom);
        if (options.Lowercase)
            words = words.Select(RustText.ToLower).ToHashSet(StringComparer.Ordinal);
        return words.ToFrozenSet(StringComparer.Ordinal);
    }
}
