using Quiver.Kernels;

namespace Quiver.Index.Quantization;

/// <summary>
/// Exact scan over scalar codes: the top <c>k·oversampling</c> rows by code score, then (with rescoring) those
/// candidates scored again with their full vectors, so recall comes back to that of the full vectors.
/// </summary>
public static class QuantizedScan
{
    /// <summary>
    /// Writes the best <paramref name="k"/> rows for <paramref name="query"/> to <paramref name="results"/>, best
    /// first, and returns how many. <typeparamref name="TKernel"/> is the collection's metric (dot product, for
    /// cosine on normalised rows too, or negated squared Euclid); <paramref name="vectors"/> are the full rows, read
    /// only to rescore.
    /// </summary>
    /// <exception cref="NotSupportedException">A metric the codes cannot score.</exception>
    public static int Search<TKernel>(QuantizedVectors codes, ReadOnlySpan<float> vectors, ReadOnlySpan<float> query, int k, double oversampling, bool rescore, Span<ScoredId> results)
        where TKernel : struct, IScoreKernel
    {
        ArgumentNullException.ThrowIfNull(codes);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        var dim = codes.Quantizer.Dimension;
        if (vectors.Length < (long)codes.Count * dim && rescore)
            throw new ArgumentException($"Rescoring {codes.Count} rows needs {(long)codes.Count * dim} floats; {vectors.Length} given.", nameof(vectors));
        if (k == 0 || codes.Count == 0)
            return 0;
        var candidates = new TopK((int)Math.Min(codes.Count, Math.Ceiling(k * Math.Max(1, oversampling))));
        var encoded = codes.Encode(query);
        // The metric is a type parameter: the branch is decided when the method is compiled, not per row.
        if (typeof(TKernel) == typeof(NegSquaredL2Kernel))
        {
            for (var row = 0; row < codes.Count; row++)
                candidates.TryAdd(codes.NegSquaredL2(encoded, row), row);
        }
        else if (typeof(TKernel) == typeof(DotKernel))
        {
            for (var row = 0; row < codes.Count; row++)
                candidates.TryAdd(codes.Dot(encoded, row), row);
        }
        else
        {
            throw new NotSupportedException($"Scalar codes cannot be scored with {typeof(TKernel).Name}.");
        }

        var found = new ScoredId[candidates.Count];
        candidates.DrainSortedDescending(found);
        if (!rescore)
        {
            var n = Math.Min(k, found.Length);
            found.AsSpan(0, n).CopyTo(results);
            return n;
        }

        var best = new TopK(k);
        foreach (var candidate in found)
            best.TryAdd(TKernel.Score(query, vectors.Slice(candidate.Id * dim, dim)), candidate.Id);
        return best.DrainSortedDescending(results);
    }
}
