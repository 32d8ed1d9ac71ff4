using System.Text.Json;

namespace Quiver.Inference.Tests;

public sealed class InferenceModelsTests
{
    [Theory]
    [InlineData("qdrant/bm25", InferenceModelKind.Bm25)]
    [InlineData("Qdrant/Bm25", InferenceModelKind.Bm25)]
    [InlineData("BM25", InferenceModelKind.Bm25)]
    [InlineData("sentence-transformers/all-MiniLM-L6-v2", InferenceModelKind.MiniLm)]
    [InlineData("SENTENCE-TRANSFORMERS/ALL-MINILM-L6-V2", InferenceModelKind.MiniLm)]
    public void Names_resolve_case_insensitively(string model, InferenceModelKind kind)
    {
        Assert.Equal(kind, InferenceModels.Resolve(model));
    }

    [Fact]
    public void Unknown_models_list_the_available_ones()
    {
        var error = Assert.Throws<InferenceInputException>(() => InferenceModels.Resolve("x"));
        Assert.Equal(
            "Unknown model \"x\": available models are qdrant/bm25, sentence-transformers/all-MiniLM-L6-v2",
            error.Message);
    }

    [Fact]
    public void Available_names_every_accepted_model()
    {
        Assert.Equal(["qdrant/bm25", "bm25", "sentence-transformers/all-MiniLM-L6-v2"], InferenceModels.Available);
        Assert.All(InferenceModels.Available, name => InferenceModels.Resolve(name));
    }

    [Fact]
    public void Bm25_shares_the_default_encoder_and_builds_others_from_options()
    {
        using var models = new InferenceModels();
        Assert.Same(models.Bm25(), models.Bm25(null));
        Assert.Same(models.Bm25(), models.Bm25(JsonDocument.Parse("null").RootElement));

        var custom = models.Bm25(JsonDocument.Parse("""{"k": 2}""").RootElement);
        Assert.Equal(2, custom.Options.K);
        Assert.Throws<InferenceInputException>(() => models.Bm25(JsonDocument.Parse("""{"q": 2}""").RootElement));
        Assert.False(models.IsMiniLmLoaded);
    }
}
