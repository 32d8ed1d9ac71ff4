using System.Numerics;
using System.Runtime.CompilerServices;

namespace Quiver.Segment.PayloadIndex.Internal;

/// <summary>
/// Bitsets kept beside dense cached posting lists (at most about twice the list's bytes), so intersecting two
/// conditions is a word-wise AND, or one bit test per member of the other list, instead of a merge.
/// Keyed by the cached array itself: a list replaced after a change drops its bitset with it.
/// </summary>
internal static class PostingBits
{
    /// <summary>Shorter lists intersect quickly enough as they are.</summary>
    private const int MinCount = 1024;

    private static readonly ConditionalWeakTable<int[], ulong[]> Bits = new();

    /// <summary>Gives a sorted, never-mutated posting list a bitset when the list is dense enough.</summary>
    public static void Attach(int[] sorted)
    {
        if (sorted.Length < MinCount)
            return;
        var words = (sorted[^1] >> 6) + 1;
        if (words > sorted.Length)
            return;
        var bits = new ulong[words];
        foreach (var offset in sorted)
            bits[offset >> 6] |= 1UL << offset;
        Bits.AddOrUpdate(sorted, bits);
    }

    public static ulong[]? Of(int[] sorted) => Bits.TryGetValue(sorted, out var bits) ? bits : null;

    /// <summary>The offsets set in both bitsets, ascending.</summary>
    public static int[] And(ulong[] a, ulong[] b)
    {
        var words = Math.Min(a.Length, b.Length);
        var count = 0;
        for (var w = 0; w < words; w++)
            count += BitOperations.PopCount(a[w] & b[w]);
        var result = new int[count];
        var next = 0;
        for (var w = 0; w < words && next < count; w++)
        {
            var word = a[w] & b[w];
            while (word != 0)
            {
                result[next++] = (w << 6) + BitOperations.TrailingZeroCount(word);
                word &= word - 1;
            }
        }

        return result;
    }

    /// <summary>The members of <paramref name="sorted"/> set in <paramref name="bits"/>, ascending.</summary>
    public static int[] Filter(int[] sorted, ulong[] bits)
    {
        var limit = bits.Length << 6;
        var matches = new List<int>(Math.Min(sorted.Length, 1024));
        foreach (var offset in sorted)
        {
            if (offset >= limit)
                break;
            if ((bits[offset >> 6] & (1UL << offset)) != 0)
                matches.Add(offset);
        }

        return [.. matches];
    }
}
