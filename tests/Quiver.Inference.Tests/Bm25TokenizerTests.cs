using Quiver.Text;

namespace Quiver.Inference.Tests;

public sealed class Bm25TokenizerTests
{
    private static readonly Bm25Options Plain = new()
    {
        Stemmer = Bm25Stemmer.None,
        Stopwords = Bm25Stopwords.None,
    };

    [Fact]
    public void Word_tokenizer_splits_on_anything_but_letters_and_digits()
    {
        var encoder = new Bm25Encoder(Plain);
        Assert.Equal(["hello", "world", "привет", "мир", "x86", "64"], encoder.TokenizeDocument("Hello, world! Привет, мир: x86_64"));
    }

    [Fact]
    public void Word_tokenizer_with_defaults_drops_contraction_halves()
    {
        // "don" and "t" are both in Qdrant's (NLTK's) English stop words.
        Assert.Equal(["stop"], new Bm25Encoder().TokenizeDocument("Don't stop"));
    }

    [Fact]
    public void Whitespace_tokenizer_keeps_punctuation()
    {
        var encoder = new Bm25Encoder(new Bm25Options { Tokenizer = Bm25TokenizerType.Whitespace, Stemmer = Bm25Stemmer.None });
        // "don't" as a whole is an English stop word too.
        Assert.Equal(["hello,", "world!"], encoder.TokenizeDocument("Hello,  world!\tdon't"));
    }

    [Fact]
    public void Prefix_tokenizer_indexes_prefixes_and_queries_the_longest()
    {
        var encoder = new Bm25Encoder(Plain with { Tokenizer = Bm25TokenizerType.Prefix, MinTokenLen = 2, MaxTokenLen = 4 });

        Assert.Equal(["he", "hel", "hell", "ми", "мир"], encoder.TokenizeDocument("Hello, мир!"));
        Assert.Equal(["hell", "мир"], encoder.TokenizeQuery("Hello, мир!"));
        Assert.Equal(2, encoder.EncodeQuery("Hello, мир!").Count);
    }

    [Fact]
    public void Prefix_tokenizer_defaults_to_every_prefix_and_queries_keep_stop_words()
    {
        var encoder = new Bm25Encoder(new Bm25Options { Tokenizer = Bm25TokenizerType.Prefix });

        Assert.Equal(["c", "ca", "cat"], encoder.TokenizeDocument("the cat"));
        Assert.Equal(["the", "cat"], encoder.TokenizeQuery("the cat"));
    }

    [Fact]
    public void Multilingual_tokenizer_drops_tokens_without_letters()
    {
        var encoder = new Bm25Encoder(Plain with { Tokenizer = Bm25TokenizerType.Multilingual });
        Assert.Equal(["version", "café", "42x"], encoder.TokenizeDocument("Version 2, café 42x 2024"));
    }

    [Fact]
    public void Ascii_folding_comes_before_lowercasing()
    {
        var encoder = new Bm25Encoder(Plain with { AsciiFolding = true });
        Assert.Equal(["acao", "uber", "strasse"], encoder.TokenizeDocument("Ação Über Straße"));
    }

    [Fact]
    public void Lowercase_can_be_turned_off()
    {
        var encoder = new Bm25Encoder(Plain with { Lowercase = false });
        Assert.Equal(["Hello", "hello"], encoder.TokenizeDocument("Hello hello"));
        Assert.Equal(2, encoder.EncodeDocument("Hello hello").Count);
    }

    [Fact]
    public void Length_limits_count_characters_after_stemming()
    {
        var encoder = new Bm25Encoder(Plain with { MinTokenLen = 2, MaxTokenLen = 3 });
        Assert.Equal(["bb", "ccc", "мир"], encoder.TokenizeDocument("a bb ccc dddd мир"));

        // "running" stems to "run" (3 characters), which the limit then keeps.
        var stemming = new Bm25Encoder(new Bm25Options { MaxTokenLen = 3 });
        Assert.Equal(["run"], stemming.TokenizeDocument("running"));
    }

    [Fact]
    public void Custom_stop_words_replace_the_language_list()
    {
        var encoder = new Bm25Encoder(new Bm25Options { Stopwords = new Bm25Stopwords([], ["Cat"]) });
        Assert.Equal(["the", "sat"], encoder.TokenizeDocument("the cat sat"));

        var both = new Bm25Encoder(new Bm25Options { Stopwords = new Bm25Stopwords(["english"], ["Cat"]) });
        Assert.Equal(["sat"], both.TokenizeDocument("the cat sat"));
    }

    [Fact]
    public void An_unknown_language_turns_stop_words_and_stemming_off()
    {
        var encoder = new Bm25Encoder(new Bm25Options { Language = "none" });
        Assert.Equal(["the", "running"], encoder.TokenizeDocument("the running"));
    }

    [Fact]
    public void Disabled_stemmer_keeps_words_apart()
    {
        Assert.Equal(1, new Bm25Encoder().EncodeDocument("running run").Count);
        Assert.Equal(2, new Bm25Encoder(new Bm25Options { Stemmer = Bm25Stemmer.None }).EncodeDocument("running run").Count);
    }

    [Fact]
    public void Other_languages_use_their_stop_words_and_stemmer()
    {
        var german = new Bm25Encoder(new Bm25Options { Language = "german" });
        Assert.Equal(["haus"], german.TokenizeDocument("Die Häuser"));

        var stemOnly = new Bm25Encoder(new Bm25Options { Stemmer = Bm25Stemmer.Snowball("fr") });
        Assert.Equal(["chanson"], stemOnly.TokenizeDocument("the chansons"));
    }

    [Fact]
    public void English_stop_words_are_qdrants_list()
    {
        var encoder = new Bm25Encoder(new Bm25Options { Stemmer = Bm25Stemmer.None, Tokenizer = Bm25TokenizerType.Whitespace });

        // In Qdrant's (NLTK's) list but not in Snowball's ...
        Assert.Empty(encoder.TokenizeDocument("can will just don should now mightn't should've that'll"));

        // ... and the other way round.
        Assert.Equal(["would", "could", "ought", "cannot", "i'm"], encoder.TokenizeDocument("would could ought cannot i'm"));
    }

    [Theory]
    [InlineData("\u039F\u0394\u039F\u03A3", "\u03BF\u03B4\u03BF\u03C2")] // ΟΔΟΣ: final sigma at the end
    [InlineData("\u03A3\u0391\u03A3 \u03A3\u039F", "\u03C3\u03B1\u03C2 \u03C3\u03BF")] // ΣΑΣ ΣΟ
    [InlineData("\u03A3", "\u03C3")] // a lone Σ is not word-final
    [InlineData("\u0130stanbul", "i\u0307stanbul")] // İ lowercases to two characters
    [InlineData("Hello", "hello")]
    public void Lowercasing_follows_rust(string text, string expected)
    {
        Assert.Equal(expected, RustText.ToLower(text));
    }
}
