using Quiver.Inference.Internal;

namespace Quiver.Inference;

/// <summary>
/// The <c>qdrant/bm25</c> model of Qdrant's server-side inference: text to a sparse vector whose dot product
/// with another is a BM25 score without IDF (the IDF comes from the collection's <c>modifier: idf</c>).
/// </summary>
/// <remarks>
/// What Qdrant does, and so this class (lib/bm25/src/lib.rs and src/common/inference/bm25_inference.rs in
/// qdrant/qdrant):
/// <list type="bullet">
/// <item>index of a token = <c>|(int)murmur3_x86_32(utf8(token), seed 0)|</c> as an unsigned 32-bit number;</item>
/// <item>document value of a token seen tf times among doc_len tokens (after stop words are removed) =
/// <c>tf * (k + 1) / (k * (1 - b + b * doc_len / avg_len) + tf)</c>, computed in double, stored as float;</item>
/// <item>query value = 1.0 for every distinct token (repeats do not count);</item>
/// <item>defaults: word tokenizer, lower-casing, the English stop words (NLTK's list) and the English Snowball
/// (Porter2) stemmer.</item>
/// </list>
/// Two distinct tokens can hash to the same index; then the later token's value wins, as in Qdrant, where the
/// winner depends on hash-map order.
/// Instances are immutable and safe to share between threads.
/// </remarks>
public sealed class Bm25Encoder
{
    private readonly Bm25Analyzer _analyzer;

    /// <exception cref="InferenceInputException">The options hold a bad value.</exception>
    public Bm25Encoder(Bm25Options? options = null)
    {
        Options = options ?? Bm25Options.Default;
        _analyzer = Bm25Setup.Build(Options);
    }

    public Bm25Options Options { get; }

    /// <summary>
    /// The document length BM25 normalises by: the tokens of <paramref name="text"/> as a stored document (after
    /// stop words), so a corpus's mean of it is the <c>avg_len</c> that fits that corpus.
    /// </summary>
    public int TokenCount(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return _analyzer.TokenizeDocument(text).Count;
    }

    /// <summary>Encodes text to be stored (Qdrant's <c>doc_embed</c>, used for upserts).</summary>
    public SparseEmbedding EncodeDocument(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokens = _analyzer.TokenizeDocument(text);
        if (tokens.Count == 0)
            return SparseEmbedding.Empty;

        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var token in tokens)
        {
            if (counts.TryGetValue(token, out var count))
            {
                counts[token] = count + 1;
            }
            else
            {
                counts[token] = 1;
                order.Add(token);
            }
        }

        double k = Options.K, b = Options.B;
        var lengthNorm = 1.0 - b + (b * tokens.Count / Options.AvgLen);
        var values = new Dictionary<uint, float>();
        foreach (var token in order)
        {
            double tf = counts[token];
            values[TokenId(token)] = (float)(tf * (k + 1.0) / Math.FusedMultiplyAdd(k, lengthNorm, tf));
        }

        var indices = values.Keys.ToArray();
        var weights = values.Values.ToArray();
        Array.Sort(indices, weights);
        return new SparseEmbedding(indices, weights);
    }

    /// <summary>Encodes a search query (Qdrant's <c>search_embed</c>): 1.0 for each distinct token.</summary>
    public SparseEmbedding EncodeQuery(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokens = _analyzer.TokenizeQuery(text);
        if (tokens.Count == 0)
            return SparseEmbedding.Empty;

        var indices = tokens.Select(TokenId).Distinct().ToArray();
        Array.Sort(indices);
        var values = new float[indices.Length];
        Array.Fill(values, 1.0f);
        return new SparseEmbedding(indices, values);
    }

    /// <summary>The tokens a document is indexed under, before hashing (for tests and debugging).</summary>
    internal IReadOnlyList<string> TokenizeDocument(string text) => _analyzer.TokenizeDocument(text);

    /// <summary>The tokens a query searches for, before hashing.</summary>
    internal IReadOnlyList<string> TokenizeQuery(string text) => _analyzer.TokenizeQuery(text);

    /// <summary>The sparse index of one token.</summary>
    internal static uint TokenId(string token) => Murmur3.TokenId(token);
}
