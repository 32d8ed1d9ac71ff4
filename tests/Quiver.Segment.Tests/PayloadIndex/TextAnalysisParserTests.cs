using System.Text.Json;
using Quiver.Segment.Errors;
using Quiver.Segment.PayloadIndex;

namespace Quiver.Segment.Tests.PayloadIndex;

/// <summary>A text index's analysis settings: strict for requests, lenient for definitions already stored.</summary>
public sealed class TextAnalysisParserTests
{
    private static PayloadFieldSchema Parse(string json, bool lenient = false)
    {
        using var doc = JsonDocument.Parse(json);
        return PayloadSchemaParser.Parse(doc.RootElement, lenient: lenient);
    }

    [Fact]
    public void Rest_and_grpc_spellings_of_the_stemmer_and_stop_words_are_read()
    {
        var rest = Parse("""{"type":"text","ascii_folding":true,"stopwords":{"languages":["english"],"custom":["foo"]},"stemmer":{"type":"snowball","language":"english"}}""").Text!;
        Assert.True(rest.AsciiFolding);
        Assert.Equal(["english"], rest.StopwordLanguages);
        Assert.Equal(["foo"], rest.CustomStopwords);
        Assert.Equal("english", rest.StemmerLanguage);

        // gRPC's StemmingAlgorithm oneof, as the gRPC layer hands it over.
        Assert.Equal("english", Parse("""{"type":"text","stemmer":{"snowball":{"language":"english"}}}""").Text!.StemmerLanguage);
        Assert.Null(Parse("""{"type":"text","stemmer":{"disabled":{}}}""").Text!.StemmerLanguage);
        Assert.Null(Parse("""{"type":"text","stemmer":{"type":"none"}}""").Text!.StemmerLanguage);
        Assert.Equal(["english"], Parse("""{"type":"text","stopwords":"english"}""").Text!.StopwordLanguages);
    }

    [Theory]
    [InlineData("""{"type":"text","stopwords":"chinese"}""")]
    [InlineData("""{"type":"text","stopwords":"klingon"}""")]
    [InlineData("""{"type":"text","stemmer":{"type":"snowball","language":"greek"}}""")]
    public void Settings_this_build_cannot_apply_are_refused_in_requests_but_left_off_when_loading(string json)
    {
        Assert.Throws<QuiverException>(() => Parse(json));
        var loaded = Parse(json, lenient: true).Text!;
        Assert.Empty(loaded.StopwordLanguages);
        Assert.Null(loaded.StemmerLanguage);
    }
}
