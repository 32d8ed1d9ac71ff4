using Quiver.Inference.Tests.Infrastructure;

namespace Quiver.Inference.Tests;

/// <summary>Loads the real MiniLM model once for the tests that need it.</summary>
public sealed class MiniLmFixture : IDisposable
{
    public MiniLmEmbedder Embedder { get; } = MiniLmEmbedder.Load(new MiniLmOptions { MaxBatchSize = 8 });

    public void Dispose() => Embedder.Dispose();
}

/// <summary>Uses the real 90 MB model: compares with the embeddings shipped in shared/data/scifact/minilm.</summary>
[Trait("Category", "RealModel")]
public sealed class MiniLmEmbedderTests(MiniLmFixture fixture) : IClassFixture<MiniLmFixture>
{
    private const double MinCosine = 0.999;

    [Fact]
    public async Task First_20_scifact_documents_match_the_shipped_embeddings()
    {
        var documents = SharedData.ReadJsonl(SharedData.Path("scifact", "corpus.jsonl"), 20)
            .Select(d => d.GetProperty("title").GetString() + " " + d.GetProperty("text").GetString())
            .ToList();
        var expected = SharedData.ReadFbin(SharedData.Path("scifact", "minilm", "corpus.fbin"), 20);

        var actual = await fixture.Embedder.EmbedAsync(documents);

        AssertClose(expected, actual);
    }

    [Fact]
    public async Task First_10_scifact_queries_match_the_shipped_embeddings()
    {
        var queries = SharedData.ReadJsonl(SharedData.Path("scifact", "queries.jsonl"), 10)
            .Select(q => q.GetProperty("text").GetString()!)
            .ToList();
        var expected = SharedData.ReadFbin(SharedData.Path("scifact", "minilm", "queries.fbin"), 10);

        var actual = await fixture.Embedder.EmbedAsync(queries);

        AssertClose(expected, actual);
    }

    [Fact]
    public async Task Results_are_in_input_order_and_unit_length_whatever_the_batching()
    {
        string[] texts = ["a much longer sentence about protein folding in the cell nucleus", "", "short", "protein folding"];
        var together = await fixture.Embedder.EmbedAsync(texts);
        for (var i = 0; i < texts.Length; i++)
        {
            var alone = (await fixture.Embedder.EmbedAsync([texts[i]]))[0];
            Assert.Equal(fixture.Embedder.Dimension, together[i].Length);
            Assert.InRange(Cosine(alone, together[i]), 0.9999, 1.0001);
            Assert.InRange(Math.Sqrt(together[i].Sum(x => (double)x * x)), 0.999, 1.001);
        }

        Assert.True(Cosine(together[0], together[3]) > Cosine(together[0], together[2]));
    }

    [Fact]
    public async Task Long_text_is_cut_to_256_tokens()
    {
        var words = string.Join(' ', Enumerable.Repeat("protein", 400));
        Assert.Equal(MiniLmEmbedder.MaxTokens, fixture.Embedder.Tokenize([words])[0].Length);
        var vectors = await fixture.Embedder.EmbedAsync([words, words + " and a tail beyond the limit"]);
        Assert.InRange(Cosine(vectors[0], vectors[1]), 0.99999, 1.00001);
    }

    [Fact]
    public async Task Empty_input_gives_no_vectors()
    {
        Assert.Empty(await fixture.Embedder.EmbedAsync([]));
    }

    [Fact]
    public async Task A_cancelled_call_throws()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            async () => await fixture.Embedder.EmbedAsync(["some text"], cancelled.Token));
    }

    private static void AssertClose(float[][] expected, float[][] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            var cosine = Cosine(expected[i], actual[i]);
            Assert.True(cosine >= MinCosine, $"row {i}: cosine {cosine}");
        }
    }

    private static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
        }

        return dot / Math.Sqrt(na * nb);
    }
}
