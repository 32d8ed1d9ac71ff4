using System.Text.Json;

namespace Quiver.Inference.Tests;

public sealed class Bm25OptionsTests
{
    [Fact]
    public void Missing_or_null_options_are_the_defaults()
    {
        Assert.Same(Bm25Options.Default, Bm25Options.Parse(null));
        Assert.Same(Bm25Options.Default, Bm25Options.Parse(Json("null")));
        Assert.Equal(Bm25Options.Default, Bm25Options.Parse(Json("{}")));

        var defaults = Bm25Options.Default;
        Assert.Equal((1.2, 0.75, 256.0), (defaults.K, defaults.B, defaults.AvgLen));
        Assert.Equal(Bm25TokenizerType.Word, defaults.Tokenizer);
        Assert.Equal("english", defaults.Language);
        Assert.True(defaults.Lowercase);
        Assert.False(defaults.AsciiFolding);
        Assert.Null(defaults.Stopwords);
        Assert.Null(defaults.Stemmer);
        Assert.Null(defaults.MinTokenLen);
        Assert.Null(defaults.MaxTokenLen);
    }

    [Fact]
    public void Every_field_is_read()
    {
        var options = Bm25Options.Parse(Json("""
            {
              "k": 1.5, "b": 0.5, "avg_len": 10, "tokenizer": "prefix", "language": "german",
              "lowercase": false, "ascii_folding": true,
              "stopwords": {"languages": ["english", "de"], "custom": ["foo"]},
              "stemmer": {"type": "snowball", "language": "en"},
              "min_token_len": 2, "max_token_len": 10
            }
            """));

        Assert.Equal((1.5, 0.5, 10.0), (options.K, options.B, options.AvgLen));
        Assert.Equal(Bm25TokenizerType.Prefix, options.Tokenizer);
        Assert.Equal("german", options.Language);
        Assert.False(options.Lowercase);
        Assert.True(options.AsciiFolding);
        Assert.Equal(["english", "de"], options.Stopwords!.Languages);
        Assert.Equal(["foo"], options.Stopwords.Custom);
        Assert.Equal("en", options.Stemmer!.Language);
        Assert.Equal((2, 10), (options.MinTokenLen, options.MaxTokenLen));
    }

    [Fact]
    public void Short_forms_and_nulls_are_read()
    {
        var options = Bm25Options.Parse(Json("""
            {"stopwords": "french", "stemmer": {"type": "none"}, "language": null, "lowercase": null,
             "min_token_len": null, "tokenizer": "multilingual"}
            """));

        Assert.Equal(["french"], options.Stopwords!.Languages);
        Assert.Null(options.Stemmer!.Language);
        Assert.Equal("english", options.Language);
        Assert.True(options.Lowercase);
        Assert.Equal(Bm25TokenizerType.Multilingual, options.Tokenizer);
    }

    [Theory]
    [InlineData("""{"kk": 1}""", "kk")]
    [InlineData("""{"k": "1.2"}""", "k")]
    [InlineData("""{"k": -0.1}""", "k")]
    [InlineData("""{"b": 1.5}""", "b")]
    [InlineData("""{"avg_len": 0}""", "avg_len")]
    [InlineData("""{"tokenizer": "Word"}""", "tokenizer")]
    [InlineData("""{"tokenizer": 1}""", "tokenizer")]
    [InlineData("""{"lowercase": "yes"}""", "lowercase")]
    [InlineData("""{"ascii_folding": 1}""", "ascii_folding")]
    [InlineData("""{"language": 5}""", "language")]
    [InlineData("""{"stopwords": "klingon"}""", "stopwords")]
    [InlineData("""{"stopwords": ["english"]}""", "stopwords")]
    [InlineData("""{"stopwords": {"languages": ["english"], "extra": []}}""", "stopwords.extra")]
    [InlineData("""{"stopwords": {"custom": "the"}}""", "stopwords.custom")]
    [InlineData("""{"stemmer": "english"}""", "stemmer")]
    [InlineData("""{"stemmer": {"type": "snowball"}}""", "stemmer.language")]
    [InlineData("""{"stemmer": {"type": "snowball", "language": "klingon"}}""", "stemmer.language")]
    [InlineData("""{"stemmer": {"type": "porter", "language": "english"}}""", "stemmer.type")]
    [InlineData("""{"stemmer": {"language": "english"}}""", "stemmer.type")]
    [InlineData("""{"stemmer": {"type": "none", "flavour": 1}}""", "stemmer.flavour")]
    [InlineData("""{"min_token_len": -1}""", "min_token_len")]
    [InlineData("""{"max_token_len": 2.5}""", "max_token_len")]
    public void Bad_options_name_the_field(string json, string field)
    {
        var error = Assert.Throws<InferenceInputException>(() => Bm25Options.Parse(Json(json)));
        Assert.Equal(field, error.Field);
        Assert.Contains(field.Split('.')[^1], error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_must_be_an_object()
    {
        Assert.Throws<InferenceInputException>(() => Bm25Options.Parse(Json("[1, 2]")));
        Assert.Throws<InferenceInputException>(() => Bm25Options.Parse(Json("\"bm25\"")));
    }

    [Theory]
    [InlineData("""{"language": "chinese"}""", "language")] // Qdrant has a Chinese stop-word list; Lucene has none
    [InlineData("""{"language": "greek"}""", "language")] // Greek stop words exist, a Snowball Greek stemmer does not
    [InlineData("""{"stemmer": {"type": "snowball", "language": "tamil"}}""", "stemmer.language")]
    [InlineData("""{"stopwords": {"languages": ["hebrew"]}}""", "stopwords")]
    public void Languages_without_a_lucene_list_or_stemmer_are_refused(string json, string field)
    {
        var error = Assert.Throws<InferenceInputException>(() => Bm25Options.Parse(Json(json)));
        Assert.Equal(field, error.Field);
    }

    [Fact]
    public void Those_languages_work_once_the_missing_part_is_turned_off()
    {
        var options = Bm25Options.Parse(Json("""{"language": "greek", "stemmer": {"type": "none"}}"""));
        Assert.NotEmpty(new Bm25Encoder(options).TokenizeDocument("καλημέρα κόσμε"));

        var chinese = Bm25Options.Parse(Json("""{"language": "chinese", "stopwords": {}}"""));
        Assert.Equal(["你好"], new Bm25Encoder(chinese).TokenizeDocument("你好"));
    }

    [Fact]
    public void Constructor_checks_options_built_in_code()
    {
        var error = Assert.Throws<InferenceInputException>(() => new Bm25Encoder(new Bm25Options { AvgLen = double.NaN }));
        Assert.Equal("avg_len", error.Field);
    }

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();
}
