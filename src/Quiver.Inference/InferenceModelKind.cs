namespace Quiver.Inference;

/// <summary>What a model name resolves to, which is also the kind of vector it produces.</summary>
public enum InferenceModelKind
{
    /// <summary><c>qdrant/bm25</c>: a sparse vector, see <see cref="Bm25Encoder"/>.</summary>
    Bm25,

    /// <summary><c>sentence-transformers/all-MiniLM-L6-v2</c>: a 384-d dense vector, see <see cref="MiniLmEmbedder"/>.</summary>
    MiniLm,
}
