using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Quiver.Kernels;

namespace Quiver.Index.Internal;

/// <summary>
/// Binary max-heap of <see cref="ScoredId"/> by score: the root is the best (highest score, i.e. closest)
/// entry. Used for the HNSW candidate queue, which always expands the closest unexpanded node next.
/// Grows on demand and keeps its buffer across <see cref="Clear"/>, so it stops allocating once warm.
/// </summary>
internal sealed class MaxHeap
{
    private ScoredId[] _items;
    private int _count;

    public MaxHeap(int capacity) => _items = new ScoredId[Math.Max(capacity, 4)];

    public int Count => _count;

    /// <summary>The best entry; only valid when <see cref="Count"/> is positive.</summary>
    public ref readonly ScoredId Top => ref MemoryMarshal.GetArrayDataReference(_items);

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
            if (p.Score >= score)
            {
                break;
            }

            Unsafe.Add(ref a, i) = p;
            i = parent;
        }

        Unsafe.Add(ref a, i) = new ScoredId(id, score);
    }

    /// <summary>Removes and returns the best entry; <see cref="Count"/> must be positive.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ScoredId Pop()
    {
        ref var a = ref MemoryMarshal.GetArrayDataReference(_items);
        var top = a;
        var n = --_count;
        if (n > 0)
        {
            var last = Unsafe.Add(ref a, n);
            var i = 0;
            while (true)
            {
                var child = (2 * i) + 1;
                if (child >= n)
                {
                    break;
                }

                ref var c = ref Unsafe.Add(ref a, child);
                if (child + 1 < n && Unsafe.Add(ref c, 1).Score > c.Score)
                {
                    child++;
                    c = ref Unsafe.Add(ref c, 1);
                }

                if (c.Score <= last.Score)
                {
                    break;
                }

                Unsafe.Add(ref a, i) = c;
                i = child;
            }

            Unsafe.Add(ref a, i) = last;
        }

        return top;
    }
}
