using System.Text.Json;

namespace Quiver.Inference.Internal;

/// <summary>
/// Reads the <c>Bm25Config</c> object of Qdrant's OpenAPI spec (<c>Document.options</c>). Values are as strict
/// as serde's (enum names are case-sensitive, integers must be integers); unknown fields are refused.
/// </summary>
internal static class Bm25OptionsParser
{
    private static readonly string[] Fields =
    [
        "k", "b", "avg_len", "tokenizer", "language", "lowercase", "ascii_folding", "stopwords", "stemmer",
        "min_token_len", "max_token_len",
    ];

    public static Bm25Options Parse(JsonElement? json)
    {
        if (json is not { } root || root.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
            return Bm25Options.Default;
        if (root.ValueKind != JsonValueKind.Object)
            throw new InferenceInputException($"BM25 options must be a JSON object, got {Describe(root)}");

        var options = Bm25Options.Default;
        foreach (var property in root.EnumerateObject())
        {
            var value = property.Value;
            options = property.Name switch
            {
                "k" => options with { K = Number(value, "k") },
                "b" => options with { B = Number(value, "b") },
                "avg_len" => options with { AvgLen = Number(value, "avg_len") },
                "tokenizer" => options with { Tokenizer = Tokenizer(value) },
                "language" => options with { Language = IsNull(value) ? "english" : String(value, "language") },
                "lowercase" => options with { Lowercase = IsNull(value) || Boolean(value, "lowercase") },
                "ascii_folding" => options with { AsciiFolding = !IsNull(value) && Boolean(value, "ascii_folding") },
                "stopwords" => options with { Stopwords = IsNull(value) ? null : Stopwords(value) },
                "stemmer" => options with { Stemmer = IsNull(value) ? null : Stemmer(value) },
                "min_token_len" => options with { MinTokenLen = Length(value, "min_token_len") },
                "max_token_len" => options with { MaxTokenLen = Length(value, "max_token_len") },
                _ => throw new InferenceInputException(
                    $"Unknown BM25 option \"{property.Name}\" (expected one of {string.Join(", ", Fields)})",
                    property.Name),
            };
        }

        Bm25Setup.Validate(options);
        return options;
    }

    private static Bm25TokenizerType Tokenizer(JsonElement value) => String(value, "tokenizer") switch
    {
        "word" => Bm25TokenizerType.Word,
        "whitespace" => Bm25TokenizerType.Whitespace,
        "prefix" => Bm25TokenizerType.Prefix,
        "multilingual" => Bm25TokenizerType.Multilingual,
        var other => throw new InferenceInputException(
            $"BM25 option \"tokenizer\" must be one of word, whitespace, prefix, multilingual, got \"{other}\"",
            "tokenizer"),
    };

    /// <summary>A language name, or <c>{"languages": [...], "custom": [...]}</c>.</summary>
    private static Bm25Stopwords Stopwords(JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.String)
            return Bm25Stopwords.ForLanguage(value.GetString()!);
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new InferenceInputException(
                $"BM25 option \"stopwords\" must be a language name or an object with \"languages\" and \"custom\", got {Describe(value)}",
                "stopwords");
        }

        IReadOnlyList<string> languages = [];
        IReadOnlyList<string> custom = [];
        foreach (var property in value.EnumerateObject())
        {
            var field = "stopwords." + property.Name;
            switch (property.Name)
            {
                case "languages":
                    languages = IsNull(property.Value) ? [] : Strings(property.Value, field);
                    break;
                case "custom":
                    custom = IsNull(property.Value) ? [] : Strings(property.Value, field);
                    break;
                default:
                    throw new InferenceInputException(
                        $"Unknown BM25 option \"{field}\" (expected \"languages\" or \"custom\")", field);
            }
        }

        return new Bm25Stopwords(languages, custom);
    }

    /// <summary><c>{"type": "snowball", "language": ...}</c> or <c>{"type": "none"}</c>.</summary>
    private static Bm25Stemmer Stemmer(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new InferenceInputException(
                $"BM25 option \"stemmer\" must be an object with a \"type\", got {Describe(value)}", "stemmer");
        }

        string? type = null;
        string? language = null;
        foreach (var property in value.EnumerateObject())
        {
            switch (property.Name)
            {
                case "type":
                    type = String(property.Value, "stemmer.type");
                    break;
                case "language":
                    language = String(property.Value, "stemmer.language");
                    break;
                default:
                    throw new InferenceInputException(
                        $"Unknown BM25 option \"stemmer.{property.Name}\" (expected \"type\" and \"language\")",
                        "stemmer." + property.Name);
            }
        }

        return type switch
        {
            "snowball" => Bm25Stemmer.Snowball(language
                ?? throw new InferenceInputException(
                    "BM25 option \"stemmer.language\" is required for a snowball stemmer", "stemmer.language")),
            "none" when language is null => Bm25Stemmer.None,
            "none" => throw new InferenceInputException(
                "BM25 option \"stemmer.language\" is not allowed with \"type\": \"none\"", "stemmer.language"),
            null => throw new InferenceInputException("BM25 option \"stemmer.type\" is required", "stemmer.type"),
            _ => throw new InferenceInputException(
                $"BM25 option \"stemmer.type\" must be \"snowball\" or \"none\", got \"{type}\"", "stemmer.type"),
        };
    }

    private static bool IsNull(JsonElement value) => value.ValueKind == JsonValueKind.Null;

    private static double Number(JsonElement value, string field) =>
        value.ValueKind == JsonValueKind.Number
            ? value.GetDouble()
            : throw new InferenceInputException($"BM25 option \"{field}\" must be a number, got {Describe(value)}", field);

    private static bool Boolean(JsonElement value, string field) => value.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw new InferenceInputException($"BM25 option \"{field}\" must be true or false, got {Describe(value)}", field),
    };

    private static string String(JsonElement value, string field) =>
        value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw new InferenceInputException($"BM25 option \"{field}\" must be a string, got {Describe(value)}", field);

    private static string[] Strings(JsonElement value, string field)
    {
        if (value.ValueKind != JsonValueKind.Array)
            throw new InferenceInputException($"BM25 option \"{field}\" must be an array of strings, got {Describe(value)}", field);
        return value.EnumerateArray().Select(item => String(item, field)).ToArray();
    }

    /// <summary>A null or a non-negative integer (the schema's <c>uint</c>).</summary>
    private static int? Length(JsonElement value, string field)
    {
        if (IsNull(value))
            return null;
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var length) && length >= 0)
            return length;
        throw new InferenceInputException(
            $"BM25 option \"{field}\" must be a non-negative integer, got {Describe(value)}", field);
    }

    private static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => $"the string \"{value.GetString()}\"",
        JsonValueKind.Number => value.GetRawText(),
        JsonValueKind.True or JsonValueKind.False => value.GetRawText(),
        JsonValueKind.Null => "null",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        _ => value.ValueKind.ToString(),
    };
}
