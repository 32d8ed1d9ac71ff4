using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Text;
using Lucene.Net.Analysis.Ar;
using Lucene.Net.Analysis.Ca;
using Lucene.Net.Analysis.El;
using Lucene.Net.Analysis.Eu;
using Lucene.Net.Analysis.Id;
using Lucene.Net.Analysis.Ro;
using Lucene.Net.Analysis.Snowball;
using Lucene.Net.Analysis.Tr;
using Lucene.Net.Analysis.Util;
using Lucene.Net.Util;

namespace Quiver.Text;

/// <summary>
/// Predefined stop-word lists, taken from Lucene.Net.Analysis.Common. Qdrant's lists
/// (lib/segment/src/index/field_index/full_text_index/stop_words/*.rs) are NLTK's. For English, the default,
/// Lucene's Snowball list is adjusted below to be exactly Qdrant's 179 words. The other languages use Lucene's
/// Snowball list (danish, dutch, finnish, french, german, hungarian, italian, norwegian, portuguese, russian,
/// spanish, swedish: close to NLTK's, which came from Snowball, but a few words differ, e.g. German "dass") or
/// the analyzer's default list (arabic, basque, catalan, greek, indonesian, romanian, turkish: other sources,
/// so they differ more). Lucene has no list for the rest of Qdrant's languages; those are refused.
/// </summary>
internal static class StopwordLists
{
    /// <summary>In Snowball's English list but not in Qdrant's (NLTK's).</summary>
    private static readonly string[] EnglishSnowballOnly =
    [
        "can't", "cannot", "could", "he'd", "he'll", "he's", "here's", "how's", "i'd", "i'll", "i'm", "i've",
        "let's", "ought", "she'd", "she'll", "that's", "there's", "they'd", "they'll", "they're", "they've",
        "we'd", "we'll", "we're", "we've", "what's", "when's", "where's", "who's", "why's", "would",
    ];

    /// <summary>In Qdrant's (NLTK's) English list but not in Snowball's.</summary>
    private static readonly string[] EnglishQdrantOnly =
    [
        "ain", "aren", "can", "couldn", "d", "didn", "doesn", "don", "hadn", "hasn", "haven", "isn", "just",
        "ll", "m", "ma", "mightn", "mightn't", "mustn", "needn", "needn't", "now", "o", "re", "s", "shan",
        "should've", "shouldn", "t", "that'll", "ve", "wasn", "weren", "will", "won", "wouldn", "y",
    ];

    private static readonly FrozenDictionary<string, Func<IEnumerable<string>>> Sources =
        new Dictionary<string, Func<IEnumerable<string>>>(StringComparer.Ordinal)
        {
            ["english"] = English,
            ["danish"] = () => Snowball("danish"),
            ["dutch"] = () => Snowball("dutch"),
            ["finnish"] = () => Snowball("finnish"),
            ["french"] = () => Snowball("french"),
            ["german"] = () => Snowball("german"),
            ["hungarian"] = () => Snowball("hungarian"),
            ["italian"] = () => Snowball("italian"),
            ["norwegian"] = () => Snowball("norwegian"),
            ["portuguese"] = () => Snowball("portuguese"),
            ["russian"] = () => Snowball("russian"),
            ["spanish"] = () => Snowball("spanish"),
            ["swedish"] = () => Snowball("swedish"),
            ["arabic"] = () => Words(ArabicAnalyzer.DefaultStopSet),
            ["basque"] = () => Words(BasqueAnalyzer.DefaultStopSet),
            ["catalan"] = () => Words(CatalanAnalyzer.DefaultStopSet),
            ["greek"] = () => Words(GreekAnalyzer.DefaultStopSet),
            ["indonesian"] = () => Words(IndonesianAnalyzer.DefaultStopSet),
            ["romanian"] = () => Words(RomanianAnalyzer.DefaultStopSet),
            ["turkish"] = () => Words(TurkishAnalyzer.DefaultStopSet),
        }.ToFrozenDictionary(StringComparer.Ordinal);

    private static readonly ConcurrentDictionary<string, FrozenSet<string>> Cache = new(StringComparer.Ordinal);

    /// <summary>Whether there is a list for this canonical language name.</summary>
    public static bool IsAvailable(string language) => Sources.ContainsKey(language);

    /// <summary>The languages that have a list, for error messages.</summary>
    public static IEnumerable<string> AvailableLanguages => Sources.Keys.Order(StringComparer.Ordinal);

    /// <summary>The list of a canonical language name (see <see cref="IsAvailable"/>), loaded once.</summary>
    public static FrozenSet<string> Get(string language) =>
        Cache.GetOrAdd(language, static name => Sources[name]().ToFrozenSet(StringComparer.Ordinal));

    private static IEnumerable<string> English() =>
        Snowball("english").Except(EnglishSnowballOnly, StringComparer.Ordinal).Concat(EnglishQdrantOnly);

    private static string[] Snowball(string language)
    {
        using var reader = IOUtils.GetDecodingReader(typeof(SnowballFilter), language + "_stop.txt", Encoding.UTF8);
        return Words(WordlistLoader.GetSnowballWordSet(reader, LuceneVersion.LUCENE_48));
    }

    private static string[] Words(CharArraySet set)
    {
        var words = new string[set.Count];
        set.CopyTo(words);
        return words;
    }
}
