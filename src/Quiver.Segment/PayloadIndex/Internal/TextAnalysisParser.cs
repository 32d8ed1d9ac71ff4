using System.Text.Json;
using Quiver.Segment.Errors;
using Quiver.Segment.Filtering.Internal;
using Quiver.Text;

namespace Quiver.Segment.PayloadIndex;

/// <summary>
/// Reads a text index's <c>stopwords</c> (a language name, or <c>{"languages": [...], "custom": [...]}</c>) and
/// <c>stemmer</c> (<c>{"type": "snowball", "language": ...}</c>), checking each language against the lists and
/// stemmers there are.
/// </summary>
internal static class TextAnalysisParser
{
    public static TextIndexParams Copy(TextIndexParams t, bool? asciiFolding = null, IReadOnlyList<string>? languages = null, IReadOnlyList<string>? custom = null, string? stemmer = null, bool clearStemmer = false) => new()
    {
        Tokenizer = t.Tokenizer,
        MinTokenLen = t.MinTokenLen,
        MaxTokenLen = t.MaxTokenLen,
        Lowercase = t.Lowercase,
        PhraseMatching = t.PhraseMatching,
        AsciiFolding = asciiFolding ?? t.AsciiFolding,
        StopwordLanguages = languages ?? t.StopwordLanguages,
        CustomStopwords = custom ?? t.CustomStopwords,
        StemmerLanguage = clearStemmer ? null : stemmer ?? t.StemmerLanguage,
    };

    /// <summary>Applies a setting, or with <paramref name="lenient"/> leaves it off when it cannot be applied.</summary>
    public static TextIndexParams Lenient(bool lenient, TextIndexParams t, Func<TextIndexParams, TextIndexParams> apply)
    {
        try
        {
            return apply(t);
        }
        catch (QuiverException) when (lenient)
        {
            return t;
        }
    }

    public static TextIndexParams Stopwords(TextIndexParams t, JsonElement value, string path)
    {
        if (value.ValueKind == JsonValueKind.String)
            return Copy(t, languages: [StopwordLanguage(value.GetString()!, path)]);
        JsonRead.RequireObject(value, path);
        var languages = new List<string>();
        var custom = new List<string>();
        foreach (var p in value.EnumerateObject())
        {
            var at = $"{path}.{p.Name}";
            switch (p.Name)
            {
                case "languages":
                    foreach (var item in Strings(p.Value, at))
                        languages.Add(StopwordLanguage(item, at));
                    break;
                case "custom":
                    custom.AddRange(Strings(p.Value, at));
                    break;
                default:
                    throw JsonRead.Unknown(path, p.Name);
            }
        }

        return Copy(t, languages: languages, custom: custom);
    }

    public static TextIndexParams Stemmer(TextIndexParams t, JsonElement value, string path)
    {
        JsonRead.RequireObject(value, path);
        // gRPC's StemmingAlgorithm arrives as {"snowball": {"language": ...}} or {"disabled": {}}; REST spells them
        // {"type": "snowball", "language": ...} and {"type": "none"}.
        if (!value.TryGetProperty("type", out _) && value.TryGetProperty("disabled", out _))
            return Copy(t, clearStemmer: true);
        if (!value.TryGetProperty("type", out _) && value.TryGetProperty("snowball", out var snowball) && snowball.ValueKind == JsonValueKind.Object)
            value = snowball;
        else if (!value.TryGetProperty("type", out _))
            throw JsonRead.Bad(path, "missing field `type`");
        var type = value.TryGetProperty("type", out var ty) ? JsonRead.String(ty, $"{path}.type") : "snowball";
        if (type == "none")
            return Copy(t, clearStemmer: true);
        if (type != "snowball")
            throw JsonRead.Bad($"{path}.type", "expected snowball");
        var name = value.TryGetProperty("language", out var l) ? JsonRead.String(l, $"{path}.language") : throw JsonRead.Bad(path, "missing field `language`");
        var language = TextLanguages.SnowballLanguage(name)
            ?? throw JsonRead.Bad($"{path}.language", $"unknown Snowball language {name}; expected one of {string.Join(", ", TextLanguages.SnowballLanguageNames)}");
        if (!SnowballStemmers.IsAvailable(language))
            throw JsonRead.Bad($"{path}.language", $"there is no Snowball stemmer for {language} here; available: {string.Join(", ", SnowballStemmers.AvailableLanguages)}");
        return Copy(t, stemmer: language);
    }

    private static string StopwordLanguage(string name, string path)
    {
        var language = TextLanguages.StopwordLanguage(name)
            ?? throw JsonRead.Bad(path, $"unknown stop-word language {name}; expected one of {string.Join(", ", TextLanguages.StopwordLanguageNames)}");
        if (!StopwordLists.IsAvailable(language))
            throw JsonRead.Bad(path, $"there is no stop-word list for {language} here; available: {string.Join(", ", StopwordLists.AvailableLanguages)}");
        return language;
    }

    private static IEnumerable<string> Strings(JsonElement value, string path)
    {
        if (value.ValueKind == JsonValueKind.String)
            return [value.GetString()!];
        if (value.ValueKind != JsonValueKind.Array)
            throw JsonRead.Bad(path, "expected a list of strings");
        return [.. value.EnumerateArray().Select((v, i) => JsonRead.String(v, $"{path}[{i}]"))];
    }
}
