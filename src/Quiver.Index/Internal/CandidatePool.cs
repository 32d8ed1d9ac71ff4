using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Quiver.Kernels;

namespace Quiver.Index.Internal;

/// <summary>
/// The best-first walk's state in one sorted array: the ef best nodes found so far, best first, each flagged once
/// expanded. It stands for the paper's two heaps (candidates and results). A node outside the ef best is never
/// expanded there either (ties aside), since the walk stops once the best candidate is worse than the worst
/// result. An insert is a vector count of the better keys and a move of the rest; the next node to expand is the
/// first unflagged one. Heaps pay a sift with unpredictable branches on every push and pop; the move grows with ef,
/// which is why walks past <c>HnswGraph.PoolMaxEf</c> keep the heaps.
/// </summary>
/// <remarks>
/// An entry is one 64-bit key: the score's bits made to order as unsigned integers (high half) above the id (low
/// half, whose top bit flags it expanded). Sorting keys sorts scores, an insert moves one array, and the position
/// count compares whole vectors of keys; slots past <see cref="Count"/> hold zero, below every key (the lowest, a
/// NaN score's, is 1), so it needs no tail. Grows on demand and keeps its buffer, so it stops allocating once warm.
/// </remarks>
internal sealed class CandidatePool
{
    /// <summary>Slack past the capacity: a whole vector of the widest width read from the last slot in use.</summary>
    private const int Padding = 8;

    /// <summary>An id's bit that flags it expanded.</summary>
    private const ulong Expanded = 0x8000_0000UL;

    private ulong[] _keys = [];
    private int _capacity;
    private int _count;

    /// <summary>Every slot before this one is expanded.</summary>
    private int _cursor;

    /// <summary>Entries held, at most the capacity given to <see cref="Begin"/>.</summary>
    public int Count => _count;

    /// <summary>True when the pool holds as many entries as it may keep.</summary>
    public bool IsFull
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _count == _capacity;
    }

    /// <summary>The worst score held; only valid when <see cref="Count"/> is positive.</summary>
    public float WorstScore
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ScoreOf(Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_keys), _count - 1));
    }

    /// <summary>Empties the pool and lets it keep up to <paramref name="capacity"/> entries.</summary>
    public void Begin(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        if (_keys.Length < capacity + Padding)
        {
            _keys = new ulong[Math.Max(capacity, _capacity * 2) + Padding];
        }
        else
        {
            // Nothing is written past the count, so only the last walk's entries need clearing.
            _keys.AsSpan(0, _count).Clear();
        }

        _capacity = capacity;
        _count = 0;
        _cursor = 0;
    }

    /// <summary>
    /// Adds <paramref name="id"/> unexpanded in its place, dropping the worst entry when the pool is full; returns
    /// false, changing nothing, when the pool is full and <paramref name="score"/> is not above the worst.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Insert(int id, float score)
    {
        ref var keys = ref MemoryMarshal.GetArrayDataReference(_keys);
        var count = _count;
        var ordered = (ulong)Ordered(score) << 32;
        if (count == _capacity && ordered <= (Unsafe.Add(ref keys, count - 1) & 0xFFFF_FFFF_0000_0000UL))
        {
            return false;
        }

        var position = CountAtLeast(ref keys, count, ordered);
        var moved = count == _capacity ? count - 1 - position : count - position;
        if (moved > 0)
        {
            MemoryMarshal.CreateSpan(ref Unsafe.Add(ref keys, position), moved).CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref keys, position + 1), moved));
        }

        Unsafe.Add(ref keys, position) = ordered | (uint)id;
        if (count < _capacity)
        {
            _count = count + 1;
        }

        if (position < _cursor)
        {
            _cursor = position;
        }

        return true;
    }

    /// <summary>The slot of the best entry not yet expanded, or -1 when every entry is.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int NextUnexpanded()
    {
        ref var keys = ref MemoryMarshal.GetArrayDataReference(_keys);
        var i = _cursor;
        while (i < _count && (Unsafe.Add(ref keys, i) & Expanded) != 0)
        {
            i++;
        }

        _cursor = i;
        return i < _count ? i : -1;
    }

    /// <summary>The id in <paramref name="slot"/>, expanded or not.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int IdAt(int slot) => (int)(uint)(Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_keys), slot) & 0x7FFF_FFFFUL);

    /// <summary>The score in <paramref name="slot"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float ScoreAt(int slot) => ScoreOf(Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_keys), slot));

    /// <summary>Flags the entry in <paramref name="slot"/> expanded: the slot <see cref="NextUnexpanded"/> returned, with no insert since.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void MarkExpanded(int slot)
    {
        Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_keys), slot) |= Expanded;
        _cursor = slot + 1;
    }

    /// <summary>Writes up to <paramref name="destination"/>'s length of the best entries, best first; returns how many.</summary>
    public int CopyBestFirst(Span<ScoredId> destination)
    {
        var n = Math.Min(_count, destination.Length);
        for (var i = 0; i < n; i++)
        {
            destination[i] = new ScoredId(IdAt(i), ScoreAt(i));
        }

        return n;
    }

    /// <summary>
    /// A float's bits made to order as unsigned integers order. NaN (an overflowing dot product can make one) is 1,
    /// below negative infinity and above the padding's zero, whatever its bits: last in the pool on every CPU.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Ordered(float score)
    {
        // Positive: set the sign bit; negative: flip every bit (branch-free: the sign spread over the word).
        var bits = BitConverter.SingleToUInt32Bits(score);
        var ordered = bits ^ ((uint)((int)bits >> 31) | 0x8000_0000U);
        return float.IsNaN(score) ? 1U : ordered;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ScoreOf(ulong key)
    {
        var ordered = (uint)(key >> 32);
        return BitConverter.UInt32BitsToSingle(ordered ^ ((uint)((int)~ordered >> 31) | 0x8000_0000U));
    }

    /// <summary>How many of the first <paramref name="count"/> keys (descending, then zero) are at least <paramref name="key"/> (which is above zero).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int CountAtLeast(ref ulong keys, int count, ulong key)
    {
        var found = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var k = Vector512.Create(key);
            for (var i = 0; i < count; i += Vector512<ulong>.Count)
            {
                found += BitOperations.PopCount(Vector512.GreaterThanOrEqual(Vector512.LoadUnsafe(ref keys, (nuint)i), k).ExtractMostSignificantBits());
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var k = Vector256.Create(key);
            for (var i = 0; i < count; i += Vector256<ulong>.Count)
            {
                found += BitOperations.PopCount(Vector256.GreaterThanOrEqual(Vector256.LoadUnsafe(ref keys, (nuint)i), k).ExtractMostSignificantBits());
            }
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            var k = Vector128.Create(key);
            for (var i = 0; i < count; i += Vector128<ulong>.Count)
            {
                found += BitOperations.PopCount(Vector128.GreaterThanOrEqual(Vector128.LoadUnsafe(ref keys, (nuint)i), k).ExtractMostSignificantBits());
            }
        }
        else
        {
            for (var i = 0; i < count; i++)
            {
                found += Unsafe.Add(ref keys, i) >= key ? 1 : 0;
            }
        }

        // A NaN score's key is 1, which the padding's zero does not reach; the bound only guards the invariant.
        return Math.Min(found, count);
    }
}
