namespace Quiver.Inference.Internal;

/// <summary>
/// Sentence-transformers' pooling for all-MiniLM-L6-v2: the mean of the token vectors the attention mask keeps,
/// then L2 normalisation, so that cosine similarity is a dot product. Sums run in double, as in the program
/// that produced the shipped scifact embeddings.
/// </summary>
internal static class MeanPooling
{
    /// <summary>
    /// Pools row <paramref name="row"/> of a [batch, seqLen, dim] hidden-state tensor over its first
    /// <paramref name="tokens"/> positions (the rest is padding).
    /// </summary>
    public static float[] PoolAndNormalize(ReadOnlySpan<float> hidden, int row, int seqLen, int dim, int tokens)
    {
        var sum = new double[dim];
        for (var t = 0; t < tokens; t++)
        {
            var vector = hidden.Slice(((row * seqLen) + t) * dim, dim);
            for (var d = 0; d < dim; d++)
                sum[d] += vector[d];
        }

        double norm = 0;
        for (var d = 0; d < dim; d++)
        {
            sum[d] /= tokens;
            norm += sum[d] * sum[d];
        }

        norm = Math.Sqrt(norm);
        var result = new float[dim];
        if (norm == 0)
            return result;
        for (var d = 0; d < dim; d++)
            result[d] = (float)(sum[d] / norm);
        return result;
    }
}
