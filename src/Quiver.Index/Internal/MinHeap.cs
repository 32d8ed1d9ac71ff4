using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Quiver.Kernels;

namespace Quiver.Index.Internal;

/// <summary>
/// Binary min-heap of <see cref="ScoredId"/> by score: the root is the worst (lowest score, i.e. farthest)
/// entry. Holds the ef best nodes found so far; the root is the bound a new node must beat.
/// Grows on demand and keeps its buffer across <see cref="Clear"/>, so it stops allocating once warm.
/// </summary>
internal sealed class MinHeap
{
    private ScoredId[] _items;
    private int _count;

    public MinHeap(int capacity) => _items = new ScoredId[Math.Max(capacity, 4)];

    public int Count => _count;

    /// <summary>The worst entry; only valid when <see cref="Count"/> is positive.</summary>
    public ref readonly ScoredId Top => ref MemoryMarshal.GetArrayDataReference(_items);

    /// <summary>The entries in heap order (not sorted).</summary>
    public ReadOnlySpan<ScoredId> Items => _items.AsSpan(0, _count);

    public void Clear() => _count = 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Push(int id, float score)
    {
        if (_count == _items.Length)
        {
            Array.Resize(ref _items, _items.Length * 2);
        }

        ref var a = ref MemoryMarshal.GetArrayDataReference(_items);
        var i = _count++;
        while (i > 0)
        {
            var parent = (i - 1) >> 1;
            ref var p = ref Unsafe.Add(ref a, parent);
            if (p.Score <= score)
            {
                break;
            }

            Unsafe.Add(ref a, i) = p;
            i = parent;
        }

        Unsafe.Add(ref a, i) = new ScoredId(id, score);
    }

    /// <summary>Removes and returns the worst entry; <see cref="Count"/> must be positive.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ScoredId Pop()
    {
        ref var a = ref MemoryMarshal.GetArrayDataReference(_items);
        var top = a;
        var n = --_count;
        if (n > 0)
        {
            SiftDown(ref a, n, Unsafe.Add(ref a, n));
        }

        return top;
    }

    /// <summary>Replaces the worst entry with a new one (cheaper than Pop then Push); Count must be positive.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void ReplaceTop(int id, float score) =>
        SiftDown(ref MemoryMarshal.GetArrayDataReference(_items), _count, new ScoredId(id, score));

    /// <summary>Writes the entries best first into <paramref name="destination"/> and empties the heap.</summary>
    public int DrainBestFirst(Span<ScoredId> destination)
    {
        var n = _count;
        for (var i = n - 1; i >= 0; i--)
        {
            destination[i] = Pop();
        }

        return n;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SiftDown(ref ScoredId a, int n, ScoredId item)
    {
        var i = 0;
        while (true)
        {
            var child = (2 * i) + 1;
            if (child >= n)
            {
                break;
            }

            ref var c = ref Unsafe.Add(ref a, child);
            if (child + 1 < n && Unsafe.Add(ref c, 1).Score < c.Score)
            {
                child++;
                c = ref Unsafe.Add(ref c, 1);
            }

            if (c.Score >= item.Score)
            {
                break;
            }

            Unsafe.Add(ref a, i) = c;
            i = child;
        }

        Unsafe.Add(ref a, i) = item;
    }
}
