using System.Net;
using Quiver.Server.Tests.Infrastructure;

namespace Quiver.Server.Tests.Rest;

/// <summary>
/// A full-text index's analysis (Qdrant's text index params): ASCII folding, English stop words and the Snowball
/// stemmer apply to stored texts and to match.text queries alike.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class TextAnalysisTests(ServerFixture fixture)
{
    private readonly RestClient _client = fixture.Client;

    private async Task<string> SeedAsync(string schema)
    {
        var name = await Api.CreateAsync(_client, "textan", 2, "Dot");
        Api.Ok(await _client.PutAsync($"/collections/{name}/index?wait=true", $$$"""{"field_name":"t","field_schema":{{{schema}}}}"""));
        await Api.UpsertAsync(_client, name, """
            [{"id":1,"vector":[1,0],"payload":{"t":"The runners were running through the Café"}},
             {"id":2,"vector":[1,0],"payload":{"t":"A quiet run"}},
             {"id":3,"vector":[1,0],"payload":{"t":"Cafe society and the joy of reading"}},
             {"id":4,"vector":[1,0],"payload":{"t":"THE end"}}]
            """);
        return name;
    }

    private Task<string[]> MatchAsync(string name, string text) =>
        Api.ScrollIdsAsync(_client, name, $$$"""{"must":[{"key":"t","match":{"text":"{{{text}}}"}}]}""");

    [Fact]
    public async Task Stems_folding_and_stop_words_apply_to_texts_and_queries()
    {
        var name = await SeedAsync("""{"type":"text","tokenizer":"word","ascii_folding":true,"stopwords":"english","stemmer":{"type":"snowball","language":"english"}}""");
        // running -> run, run -> run; runners -> runner does not match run.
        Assert.Equal(["1", "2"], await MatchAsync(name, "run"));
        Assert.Equal(["1", "2"], await MatchAsync(name, "Running"));
        // Café folds to cafe.
        Assert.Equal(["1", "3"], await MatchAsync(name, "café"));
        Assert.Equal(["3"], await MatchAsync(name, "reads"));
        // A stop word in the query is dropped, so "the end" asks for end alone.
        Assert.Equal(["4"], await MatchAsync(name, "the end"));
    }

    [Fact]
    public async Task Without_analysis_words_match_only_as_written_lower_cased()
    {
        var name = await SeedAsync("""{"type":"text","tokenizer":"word"}""");
        Assert.Equal(["2"], await MatchAsync(name, "run"));
        Assert.Equal(["1"], await MatchAsync(name, "café"));
        Assert.Equal(["1", "3", "4"], await MatchAsync(name, "the"));
    }

    [Theory]
    [InlineData("""{"type":"text","stemmer":{"type":"snowball","language":"klingon"}}""", "klingon")]
    [InlineData("""{"type":"text","stopwords":"elvish"}""", "elvish")]
    [InlineData("""{"type":"text","stopwords":{"languages":["english"],"extra":["x"]}}""", "extra")]
    [InlineData("""{"type":"text","stemmer":{"type":"porter"}}""", "snowball")]
    public async Task Unknown_languages_and_fields_are_400(string schema, string fragment)
    {
        var name = await Api.CreateAsync(_client, "textbad", 2, "Dot");
        Api.Error(await _client.PutAsync($"/collections/{name}/index?wait=true", $$$"""{"field_name":"t","field_schema":{{{schema}}}}"""), HttpStatusCode.BadRequest, fragment);
    }
}
