using System.Collections.Frozen;
using Lucene.Net.Tartarus.Snowball;
using Lucene.Net.Tartarus.Snowball.Ext;

namespace Quiver.Text;

/// <summary>
/// Snowball stemmers from Lucene.Net.Analysis.Common. Qdrant uses rust-stemmers, which implements the same
/// Snowball algorithms (English is Porter2, <c>english</c> in Snowball). Lucene has no Snowball stemmer for
/// arabic, greek or tamil, which Qdrant offers; those are refused.
/// </summary>
internal static class SnowballStemmers
{
    private static readonly FrozenDictionary<string, Func<SnowballProgram>> Factories =
        new Dictionary<string, Func<SnowballProgram>>(StringComparer.Ordinal)
        {
            ["armenian"] = static () => new ArmenianStemmer(),
            ["danish"] = static () => new DanishStemmer(),
            ["dutch"] = static () => new DutchStemmer(),
            ["english"] = static () => new EnglishStemmer(),
            ["finnish"] = static () => new FinnishStemmer(),
            ["french"] = static () => new FrenchStemmer(),
            ["german"] = static () => new GermanStemmer(),
            ["hungarian"] = static () => new HungarianStemmer(),
            ["italian"] = static () => new ItalianStemmer(),
            ["norwegian"] = static () => new NorwegianStemmer(),
            ["portuguese"] = static () => new PortugueseStemmer(),
            ["romanian"] = static () => new RomanianStemmer(),
            ["russian"] = static () => new RussianStemmer(),
            ["spanish"] = static () => new SpanishStemmer(),
            ["swedish"] = static () => new SwedishStemmer(),
            ["turkish"] = static () => new TurkishStemmer(),
        }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>Whether there is a stemmer for this canonical Snowball language name.</summary>
    public static bool IsAvailable(string language) => Factories.ContainsKey(language);

    /// <summary>The languages that have a stemmer, for error messages.</summary>
    public static IEnumerable<string> AvailableLanguages => Factories.Keys.Order(StringComparer.Ordinal);

    /// <summary>
    /// A factory of fresh stemmers: a Snowball stemmer keeps the word it works on, so each caller needs its own.
    /// </summary>
    public static Func<SnowballProgram> Factory(string language) => Factories[language];
}
