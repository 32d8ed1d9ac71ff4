using System.Collections.Frozen;

namespace Quiver.Text;

/// <summary>
/// The language names Qdrant accepts, with their serde aliases (lib/segment/src/data_types/index.rs: enums
/// <c>Language</c> for stop words and <c>SnowballLanguage</c> for stemmers). Matching is case-sensitive, as
/// serde's is.
/// </summary>
internal static class TextLanguages
{
    private static readonly FrozenDictionary<string, string> StopwordNames = BuildNames(
    [
        ("arabic", "ar"), ("azerbaijani", "az"), ("basque", "eu"), ("bengali", "bn"), ("catalan", "ca"),
        ("chinese", "zh"), ("danish", "da"), ("dutch", "nl"), ("english", "en"), ("finnish", "fi"),
        ("french", "fr"), ("german", "de"), ("greek", "el"), ("hebrew", "he"), ("hinglish", "hi-en"),
        ("hungarian", "hu"), ("indonesian", "id"), ("italian", "it"), ("japanese", "jp"), ("kazakh", "kk"),
        ("nepali", "ne"), ("norwegian", "no"), ("portuguese", "pt"), ("romanian", "ro"), ("russian", "ru"),
        ("slovene", "sl"), ("spanish", "es"), ("swedish", "sv"), ("tajik", "tg"), ("turkish", "tr"),
    ]);

    private static readonly FrozenDictionary<string, string> SnowballNames = BuildNames(
    [
        ("arabic", "ar"), ("armenian", "hy"), ("danish", "da"), ("dutch", "nl"), ("english", "en"),
        ("finnish", "fi"), ("french", "fr"), ("german", "de"), ("greek", "el"), ("hungarian", "hu"),
        ("italian", "it"), ("norwegian", "no"), ("portuguese", "pt"), ("romanian", "ro"), ("russian", "ru"),
        ("spanish", "es"), ("swedish", "sv"), ("tamil", "ta"), ("turkish", "tr"),
    ]);

    /// <summary>The canonical stop-word language for a name or alias, or null when Qdrant knows none.</summary>
    public static string? StopwordLanguage(string name) => StopwordNames.GetValueOrDefault(name);

    /// <summary>The canonical Snowball language for a name or alias, or null when Qdrant knows none.</summary>
    public static string? SnowballLanguage(string name) => SnowballNames.GetValueOrDefault(name);

    /// <summary>The canonical stop-word language names, for error messages.</summary>
    public static IEnumerable<string> StopwordLanguageNames => StopwordNames.Values.Distinct().Order(StringComparer.Ordinal);

    /// <summary>The canonical Snowball language names, for error messages.</summary>
    public static IEnumerable<string> SnowballLanguageNames => SnowballNames.Values.Distinct().Order(StringComparer.Ordinal);

    private static FrozenDictionary<string, string> BuildNames((string Name, string Alias)[] names)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, alias) in names)
        {
            map[name] = name;
            map[alias] = name;
        }

        return map.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
