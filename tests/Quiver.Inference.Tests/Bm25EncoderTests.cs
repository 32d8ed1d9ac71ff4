namespace Quiver.Inference.Tests;

/// <summary>
/// Expected values worked out by hand: index = |murmur3_32(token) as i32|, document value =
/// tf * (k + 1) / (k * (1 - b + b * doc_len / avg_len) + tf), query value = 1.
/// </summary>
public sealed class Bm25EncoderTests
{
    private const uint Cat = 1751422759; // murmur3("cat") = 0x68649727
    private const uint Sat = 703717300; // murmur3("sat") = 0x29f1dfb4
    private const uint Mat = 69083019; // murmur3("mat") = 0xfbe1e075, negative: 2^32 - h
    private const uint Run = 243905464; // murmur3("run") = 0xf1764c48, negative
    private const uint Quick = 771291085; // murmur3("quick") = 0x2df8f7cd

    [Fact]
    public void Stop_words_are_dropped_and_do_not_count_in_the_length()
    {
        // "the" and "on" are stop words: 3 tokens remain, each once.
        // 1 * 2.2 / (1.2 * (0.25 + 0.75 * 3 / 256) + 1) = 2.2 / 1.310546875 = 1.6786885...
        var embedding = new Bm25Encoder().EncodeDocument("The cat sat on the mat");

        Assert.Equal([Mat, Sat, Cat], embedding.Indices);
        Assert.Equal([1.6786885f, 1.6786885f, 1.6786885f], embedding.Values);
    }

    [Fact]
    public void Repeated_and_stemmed_words_add_up()
    {
        // running, runs, run, RUNNING all stem to "run" (tf 4); quickly stems to "quick" (tf 1); doc_len 5.
        // With avg_len 5 the length factor is 1: run = 4 * 2.2 / (1.2 + 4) = 1.6923077, quick = 2.2 / 2.2 = 1.
        var encoder = new Bm25Encoder(new Bm25Options { AvgLen = 5 });
        var embedding = encoder.EncodeDocument("Running runs run! RUNNING quickly");

        Assert.Equal([Run, Quick], embedding.Indices);
        Assert.Equal([1.6923077f, 1.0f], embedding.Values);
        Assert.Equal(["run", "run", "run", "run", "quick"], encoder.TokenizeDocument("Running runs run! RUNNING quickly"));
    }

    [Fact]
    public void K_and_b_change_the_document_value()
    {
        // k = 2, b = 0: 2 * 3 / (2 * 1 + 2) = 1.5 whatever the length.
        var encoder = new Bm25Encoder(new Bm25Options { K = 2, B = 0 });
        var embedding = encoder.EncodeDocument("cat cat sat");

        Assert.Equal([Sat, Cat], embedding.Indices);
        Assert.Equal([1.0f, 1.5f], embedding.Values);
    }

    [Fact]
    public void Query_values_are_one_per_distinct_token()
    {
        var embedding = new Bm25Encoder().EncodeQuery("running run the quick quickly");

        Assert.Equal([Run, Quick], embedding.Indices);
        Assert.Equal([1.0f, 1.0f], embedding.Values);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("the of and, to!")]
    [InlineData("... --- !!!")]
    public void Text_without_tokens_is_empty(string text)
    {
        var encoder = new Bm25Encoder();
        Assert.Equal(0, encoder.EncodeDocument(text).Count);
        Assert.Equal(0, encoder.EncodeQuery(text).Count);
    }

    [Fact]
    public void Indices_are_sorted_and_unique()
    {
        var text = "Vector databases store embeddings; sparse vectors store term weights, and dense vectors store meaning.";
        var encoder = new Bm25Encoder();
        foreach (var embedding in new[] { encoder.EncodeDocument(text), encoder.EncodeQuery(text) })
        {
            Assert.Equal(embedding.Indices.Length, embedding.Values.Length);
            for (var i = 1; i < embedding.Indices.Length; i++)
                Assert.True(embedding.Indices[i - 1] < embedding.Indices[i]);
        }
    }

    [Fact]
    public void Documents_and_queries_share_indices()
    {
        var encoder = new Bm25Encoder();
        var document = encoder.EncodeDocument("Sparse retrieval with BM25 scoring");
        var query = encoder.EncodeQuery("bm25 scores");
        Assert.All(query.Indices, index => Assert.Contains(index, document.Indices));
    }
}
