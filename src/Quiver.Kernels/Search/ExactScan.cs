using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Quiver.Kernels.Internal;

namespace Quiver.Kernels;

/// <summary>Brute-force scoring of contiguous rows, the plain search of appendable segments.</summary>
public static class ExactScan
{
    /// <summary>
    /// Scores <paramref name="query"/> against each row of the row-major matrix <paramref name="rows"/>
    /// (<paramref name="dim"/> floats per row) and offers row <c>i</c> to <paramref name="topk"/> as id
    /// <c>idOffset + i</c>. Specialised per kernel by the JIT.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// <paramref name="dim"/> is not positive, the query length is not <paramref name="dim"/>, the row buffer is
    /// not a whole number of rows, or <paramref name="idOffset"/> is negative or the ids would overflow.
    /// </exception>
    public static void Scan<TKernel>(ReadOnlySpan<float> query, ReadOnlySpan<float> rows, int dim, TopK topk, int idOffset = 0)
        where TKernel : struct, IScoreKernel
    {
        ArgumentNullException.ThrowIfNull(topk);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dim);
        ArgumentOutOfRangeException.ThrowIfNegative(idOffset);
        if (query.Length != dim)
        {
            ThrowHelper.ThrowArgument($"Query has {query.Length} dimensions, expected {dim}.", nameof(query));
        }

        var rowCount = Math.DivRem(rows.Length, dim, out var rest);
        if (rest != 0)
        {
            ThrowHelper.ThrowArgument($"Row buffer of {rows.Length} floats is not a multiple of {dim}.", nameof(rows));
        }

        if ((long)idOffset + rowCount - 1 > int.MaxValue)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(idOffset), "Row ids would overflow Int32.");
        }

        // Row spans built from a base ref skip a bounds-checked Slice per row; offsets never pass the end.
        ref var first = ref MemoryMarshal.GetReference(rows);
        for (var i = 0; i < rowCount; i++)
        {
            var row = MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref first, (nint)i * dim), dim);
            // Once k rows are kept, a row only matters if it reaches the worst of them: distances stop early.
            topk.TryAdd(TKernel.ScoreAtLeast(query, row, topk.Threshold), idOffset + i);
        }
    }
}
