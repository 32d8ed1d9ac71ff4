using Quiver.Engine.Query;
using Quiver.Kernels;

namespace Quiver.Engine.Shards;

/// <summary>
/// The scratch space of one search, pooled per thread so a query allocates only what it returns: the hits of
/// the segments searched so far, room for one segment's results, and the records of every shard for the merge.
/// </summary>
internal sealed class SearchBuffer
{
    /// <summary>Buffers grown past this many entries (very large limits) are dropped rather than kept per thread.</summary>
    private const int RetainMax = 4096;

    [ThreadStatic]
    private static SearchBuffer? _cached;

    private SegmentHit[] _hits = new SegmentHit[32];
    private ScoredId[] _segment = new ScoredId[32];
    private RankedRecord[] _ranked = [];
    private int _hitCount;
    private int _rankedCount;

    public Span<SegmentHit> Hits => _hits.AsSpan(0, _hitCount);

    public Span<RankedRecord> Ranked => _ranked.AsSpan(0, _rankedCount);

    /// <summary>Takes this thread's buffer (or a new one); taking it out of the slot keeps a re-entrant call safe.</summary>
    public static SearchBuffer Rent()
    {
        var buffer = _cached ?? new SearchBuffer();
        _cached = null;
        return buffer;
    }

    /// <summary>Clears the buffer (so it holds no segments or records alive) and keeps it for this thread's next search.</summary>
    public static void Return(SearchBuffer buffer)
    {
        buffer.ClearHits();
        Array.Clear(buffer._ranked, 0, buffer._rankedCount);
        buffer._rankedCount = 0;
        if (buffer._hits.Length <= RetainMax && buffer._segment.Length <= RetainMax && buffer._ranked.Length <= RetainMax)
            _cached = buffer;
    }

    /// <summary>Room for <paramref name="k"/> results of one segment, overwritten by the next call.</summary>
    public Span<ScoredId> SegmentResults(int k)
    {
        if (_segment.Length < k)
            _segment = new ScoredId[k];
        return _segment.AsSpan(0, k);
    }

    public void AddHit(in SegmentHit hit)
    {
        if (_hitCount == _hits.Length)
            Array.Resize(ref _hits, _hits.Length * 2);
        _hits[_hitCount++] = hit;
    }

    /// <summary>Keeps the first <paramref name="count"/> hits.</summary>
    public void TruncateHits(int count) => _hitCount = count;

    public void ClearHits()
    {
        Array.Clear(_hits, 0, _hitCount);
        _hitCount = 0;
    }

    public void AddRanked(float score, ScoredRecord record)
    {
        if (_rankedCount == _ranked.Length)
            Array.Resize(ref _ranked, Math.Max(16, _ranked.Length * 2));
        _ranked[_rankedCount++] = new RankedRecord(score, record);
    }
}

/// <summary>A materialised search result with its internal score (higher is closer), for the merge across shards.</summary>
internal readonly record struct RankedRecord(float Score, ScoredRecord Record);
