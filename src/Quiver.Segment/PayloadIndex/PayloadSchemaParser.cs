using System.Text.Json;
using Quiver.Segment.Errors;
using Quiver.Segment.Filtering.Internal;

namespace Quiver.Segment.PayloadIndex;

/// <summary>Parses a spec <c>PayloadFieldSchema</c> (short or params form).</summary>
public static class PayloadSchemaParser
{
    private static readonly string[] Common = ["type", "on_disk", "memory", "enable_hnsw"];

    /// <param name="lenient">
    /// For definitions already stored (indexes rebuilt at load, log replay, snapshot restore): text analysis this
    /// build cannot apply (a language without a stop-word list or stemmer here) is left off rather than refused, so a
    /// definition accepted by an earlier version never stops a collection from loading. Requests are parsed strictly.
    /// </param>
    public static PayloadFieldSchema Parse(JsonElement fieldSchema, string path = "field_schema", bool lenient = false)
    {
        if (fieldSchema.ValueKind == JsonValueKind.String)
            return PayloadFieldSchema.Of(ParseType(fieldSchema.GetString()!, path));
        JsonRead.RequireObject(fieldSchema, path);
        if (!fieldSchema.TryGetProperty("type", out var typeElement))
            throw JsonRead.Bad(path, "missing field `type`");
        var type = ParseType(JsonRead.String(typeElement, $"{path}.type"), $"{path}.type");
        string[] allowed = type switch
        {
            PayloadSchemaType.Keyword => ["is_tenant", "prefix"],
            PayloadSchemaType.Integer => ["lookup", "range", "is_principal"],
            PayloadSchemaType.Float or PayloadSchemaType.Datetime => ["is_principal"],
            PayloadSchemaType.Uuid => ["is_tenant"],
            PayloadSchemaType.Text =>
            [
                "tokenizer", "min_token_len", "max_token_len", "lowercase", "ascii_folding", "phrase_matching",
                "stopwords", "stemmer",
            ],
            _ => [],
        };
        var text = type == PayloadSchemaType.Text ? new TextIndexParams() : null;
        foreach (var p in fieldSchema.EnumerateObject())
        {
            var at = $"{path}.{p.Name}";
            if (!Common.Contains(p.Name) && !allowed.Contains(p.Name))
                throw JsonRead.Unknown(path, p.Name);
            if (p.Value.ValueKind == JsonValueKind.Null || p.Name == "type")
                continue;
            switch (p.Name)
            {
                case "memory":
                    var memory = JsonRead.String(p.Value, at);
                    if (memory is not ("cold" or "cached" or "pinned"))
                        throw JsonRead.Bad(at, "expected one of cold, cached, pinned");
                    break;
                case "tokenizer":
                    text = With(text!, tokenizer: JsonRead.String(p.Value, at) switch
                    {
                        "word" => TokenizerKind.Word,
                        "whitespace" => TokenizerKind.Whitespace,
                        "prefix" => TokenizerKind.Prefix,
                        "multilingual" => TokenizerKind.Multilingual,
                        _ => throw JsonRead.Bad(at, "expected one of prefix, whitespace, word, multilingual"),
                    });
                    break;
                case "min_token_len":
                    text = With(text!, min: (int)Math.Min(JsonRead.UInt(p.Value, at), int.MaxValue));
                    break;
                case "max_token_len":
                    text = With(text!, max: (int)Math.Min(JsonRead.UInt(p.Value, at), int.MaxValue));
                    break;
                case "lowercase":
                    text = With(text!, lowercase: JsonRead.Bool(p.Value, at));
                    break;
                case "phrase_matching":
                    text = With(text!, phrase: JsonRead.Bool(p.Value, at));
                    break;
                case "stopwords":
                    text = TextAnalysisParser.Lenient(lenient, text!, t => TextAnalysisParser.Stopwords(t, p.Value, at));
                    break;
                case "stemmer":
                    text = TextAnalysisParser.Lenient(lenient, text!, t => TextAnalysisParser.Stemmer(t, p.Value, at));
                    break;
                case "ascii_folding":
                    text = TextAnalysisParser.Copy(text!, asciiFolding: JsonRead.Bool(p.Value, at));
                    break;
                default:
                    JsonRead.Bool(p.Value, at);
                    break;
            }
        }

        return new PayloadFieldSchema(type, fieldSchema.Clone(), text);
    }

    private static PayloadSchemaType ParseType(string name, string path) => name switch
    {
        "keyword" => PayloadSchemaType.Keyword,
        "integer" => PayloadSchemaType.Integer,
        "float" => PayloadSchemaType.Float,
        "text" => PayloadSchemaType.Text,
        "bool" => PayloadSchemaType.Bool,
        "datetime" => PayloadSchemaType.Datetime,
        "uuid" => PayloadSchemaType.Uuid,
        "geo" => throw QuiverException.BadInput($"{path}: geo indexes are not supported yet"),
        _ => throw JsonRead.Bad(path, "expected one of keyword, integer, float, geo, text, bool, datetime, uuid"),
    };

    private static TextIndexParams With(
        TextIndexParams t,
        TokenizerKind? tokenizer = null,
        int? min = null,
        int? max = null,
        bool? lowercase = null,
        bool? phrase = null) => new()
        {
            Tokenizer = tokenizer ?? t.Tokenizer,
            MinTokenLen = min ?? t.MinTokenLen,
            MaxTokenLen = max ?? t.MaxTokenLen,
            Lowercase = lowercase ?? t.Lowercase,
            PhraseMatching = phrase ?? t.PhraseMatching,
            AsciiFolding = t.AsciiFolding,
            StopwordLanguages = t.StopwordLanguages,
            CustomStopwords = t.CustomStopwords,
            StemmerLanguage = t.StemmerLanguage,
        };
}
