using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Quiver.Kernels;

namespace Quiver.Index.Internal;

/// <summary>
/// The best-first walk's state in one sorted array: the ef best nodes found so far, best first, each flagged once
/// expanded. It stands for the paper's two heaps (candidates and results). A node outside the ef best is never
/// expanded there either, since the walk stops once the best candidate is worse than the worst result. An insert
/// is a vector count of the better scores and a short move; the next node to expand is the first unflagged one.
/// Heaps pay a sift with unpredictable branches on every push and pop.
/// </summary>
/// <remarks>
/// Scores and ids are kept apart so the position count reads scores only. Slots past <see cref="Count"/> hold
/// negative infinity, so whole vectors can be compared without a tail. The expanded flag is an id's sign bit.
/// Grows on demand and keeps its buffers, so it stops allocating once warm.
/// </remarks>
internal sealed class CandidatePool
{
    /// <summary>Slack past the capacity: a whole vector of the widest width read from the last slot in use.</summary>
    private const int Padding = 16;

    private float[] _scores = [];
    private int[] _ids = [];
    private int _capacity;
    private int _count;

    /// <summary>Every slot before this one is expanded.</summary>
    private int _cursor;

    /// <summary>Entries held, at most the capacity given to <see cref="Begin"/>.</summary>
    public int Count => _count;

    /// <summary>True when the pool holds as many entries as it may keep.</summary>
    public bool IsFull => _count == _capacity;

    /// <summary>The worst score held; only valid when <see cref="Count"/> is positive.</summary>
    public float WorstScore => Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_scores), _count - 1);

    /// <summary>Empties the pool and lets it keep up to <paramref name="capacity"/> entries.</summary>
    public void Begin(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        if (_scores.Length < capacity + Padding)
        {
            var size = Math.Max(capacity, _capacity * 2) + Padding;
            _scores = new float[size];
            _ids = new int[size];
        }

        _scores.AsSpan(0, Math.Min(_scores.Length, Math.Max(_capacity, capacity) + Padding)).Fill(float.NegativeInfinity);
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
        ref var scores = ref MemoryMarshal.GetArrayDataReference(_scores);
        var count = _count;
        if (count == _capacity && !(score > Unsafe.Add(ref scores, count - 1)))
        {
            return false;
        }

        var position = CountAtLeast(ref scores, count, score);
        var moved = count == _capacity ? count - 1 - position : count - position;
        if (moved > 0)
        {
            MemoryMarshal.CreateSpan(ref Unsafe.Add(ref scores, position), moved).CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref scores, position + 1), moved));
            ref var ids = ref MemoryMarshal.GetArrayDataReference(_ids);
            MemoryMarshal.CreateSpan(ref Unsafe.Add(ref ids, position), moved).CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref ids, position + 1), moved));
        }

        Unsafe.Add(ref scores, position) = score;
        Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_ids), position) = id;
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
        ref var ids = ref MemoryMarshal.GetArrayDataReference(_ids);
        var i = _cursor;
        while (i < _count && Unsafe.Add(ref ids, i) < 0)
        {
            i++;
        }

        _cursor = i;
        return i < _count ? i : -1;
    }

    /// <summary>The id in <paramref name="slot"/>, expanded or not.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int IdAt(int slot) => Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_ids), slot) & int.MaxValue;

    /// <summary>The score in <paramref name="slot"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float ScoreAt(int slot) => Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_scores), slot);

    /// <summary>Flags the entry in <paramref name="slot"/> (from <see cref="NextUnexpanded"/>) expanded.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void MarkExpanded(int slot)
    {
        Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_ids), slot) |= int.MinValue;
        _cursor = slot + 1;
    }

    /// <summary>Writes up to <paramref name="destination"/>'s length of the best entries, best first; returns how many.</summary>
    public int CopyBestFirst(Span<ScoredId> destination)
    {
        var n = Math.Min(_count, destination.Length);
        for (var i = 0; i < n; i++)
        {
            destination[i] = new ScoredId(_ids[i] & int.MaxValue, _scores[i]);
        }

        return n;
    }

    /// <summary>How many of the first <paramref name="count"/> scores (descending, then negative infinity) are at least <paramref name="score"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int CountAtLeast(ref float scores, int count, float score)
    {
        var found = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var s = Vector512.Create(score);
            for (var i = 0; i < count; i += Vector512<float>.Count)
            {
                found += BitOperations.PopCount(Vector512.GreaterThanOrEqual(Vector512.LoadUnsafe(ref scores, (nuint)i), s).ExtractMostSignificantBits());
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var s = Vector256.Create(score);
            for (var i = 0; i < count; i += Vector256<float>.Count)
            {
                found += BitOperations.PopCount(Vector256.GreaterThanOrEqual(Vector256.LoadUnsafe(ref scores, (nuint)i), s).ExtractMostSignificantBits());
            }
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            var s = Vector128.Create(score);
            for (var i = 0; i < count; i += Vector128<float>.Count)
            {
                found += BitOperations.PopCount(Vector128.GreaterThanOrEqual(Vector128.LoadUnsafe(ref scores, (nuint)i), s).ExtractMostSignificantBits());
            }
        }
        else
        {
            for (var i = 0; i < count; i++)
            {
                found += Unsafe.Add(ref scores, i) >= score ? 1 : 0;
            }
        }

        // Negative infinity counts the padding too.
        return Math.Min(found, count);
    }
}
