using System.Runtime.CompilerServices;

namespace Quiver.Kernels;

/// <summary>
/// Keeps the <see cref="K"/> best <c>(score, id)</c> pairs seen, ordered by score descending then id ascending,
/// so among equal scores at the boundary the smaller id is kept and the result does not depend on insertion
/// order (for distinct ids). A binary min-heap whose root is the worst kept entry; once full, anything scoring
/// below <see cref="Threshold"/> is rejected with one comparison. Reusable via <see cref="Reset"/>: no
/// allocation per query once the buffer has grown to the largest k used. Not thread-safe.
/// </summary>
public sealed class TopK
{
    private ScoredId[] _heap;
    private int _k;
    private int _count;
    private float _threshold;

    /// <param name="k">How many results to keep; 0 keeps nothing.</param>
    public TopK(int k)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        _heap = new ScoredId[Math.Max(k, 1)];
        Reset(k);
    }

    /// <summary>How many results are kept at most.</summary>
    public int K => _k;

    /// <summary>How many results are held now (at most <see cref="K"/>).</summary>
    public int Count => _count;

    /// <summary>
    /// The worst kept score once <see cref="Count"/> reached <see cref="K"/>, else negative infinity
    /// (+infinity when k is 0). A candidate below it can never enter; one equal to it enters only with a
    /// smaller id than the worst kept entry.
    /// </summary>
    public float Threshold => _threshold;

    /// <summary>Empties the collector and sets a new k, growing the buffer only when k exceeds its size.</summary>
    public void Reset(int k)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        if (k > _heap.Length)
        {
            _heap = new ScoredId[k];
        }

        _k = k;
        _count = 0;
        _threshold = k == 0 ? float.PositiveInfinity : float.NegativeInfinity;
    }

    /// <summary>
    /// Offers a candidate. Returns <see langword="true"/> when it is kept (possibly evicting the worst entry).
    /// NaN scores are never kept.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryAdd(float score, int id)
    {
        // Written so that NaN fails too. Before the heap is full the threshold is -inf and everything passes.
        if (!(score >= _threshold))
        {
            return false;
        }

        return AddSlow(score, id);
    }

    /// <summary>
    /// Writes the kept results to <paramref name="destination"/> sorted by score descending, ties by id
    /// ascending, and empties the collector (k is kept). Returns the number written (the former
    /// <see cref="Count"/>).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <see cref="Count"/>.</exception>
    public int DrainSortedDescending(Span<ScoredId> destination)
    {
        var n = _count;
        if (destination.Length < n)
        {
            throw new ArgumentException($"Destination holds {destination.Length} but {n} results are kept.", nameof(destination));
        }

        // In-place heapsort: repeatedly move the worst entry to the end of the shrinking heap, which leaves
        // the array ordered best first.
        var heap = _heap.AsSpan(0, n);
        for (var end = n - 1; end > 0; end--)
        {
            var worst = heap[0];
            SiftDown(heap[..end], heap[end]);
            heap[end] = worst;
        }

        heap.CopyTo(destination);
        _count = 0;
        _threshold = _k == 0 ? float.PositiveInfinity : float.NegativeInfinity;
        return n;
    }

    private bool AddSlow(float score, int id)
    {
        var item = new ScoredId(id, score);
        if (_count < _k)
        {
            SiftUp(_count, item);
            _count++;
            if (_count == _k)
            {
                _threshold = _heap[0].Score;
            }

            return true;
        }

        // k == 0: the +inf threshold still lets +inf through, and there is nothing to replace.
        if (_count == 0)
        {
            return false;
        }

        // Full and score >= threshold: on an equal score only a smaller id wins.
        ref var root = ref _heap[0];
        if (score == root.Score && id >= root.Id)
        {
            return false;
        }

        SiftDown(_heap.AsSpan(0, _count), item);
        _threshold = _heap[0].Score;
        return true;
    }

    /// <summary>True when <paramref name="a"/> ranks below <paramref name="b"/> (closer to the heap root).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Worse(in ScoredId a, in ScoredId b) =>
        a.Score < b.Score || (a.Score == b.Score && a.Id > b.Id);

    private void SiftUp(int index, ScoredId item)
    {
        var heap = _heap;
        while (index > 0)
        {
            var parent = (index - 1) >> 1;
            if (!Worse(item, heap[parent]))
            {
                break;
            }

            heap[index] = heap[parent];
            index = parent;
        }

        heap[index] = item;
    }

    /// <summary>Replaces the root of <paramref name="heap"/> with <paramref name="item"/> and restores order.</summary>
    private static void SiftDown(Span<ScoredId> heap, ScoredId item)
    {
        var n = heap.Length;
        var index = 0;
        while (true)
        {
            var child = (2 * index) + 1;
            if (child >= n)
            {
                break;
            }

            if (child + 1 < n && Worse(heap[child + 1], heap[child]))
            {
                child++;
            }

            if (!Worse(heap[child], item))
            {
                break;
            }

            heap[index] = heap[child];
            index = child;
        }

        heap[index] = item;
    }
}
