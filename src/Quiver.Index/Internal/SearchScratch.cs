namespace Quiver.Index.Internal;

/// <summary>
/// The mutable state of one graph walk: visited marks, candidate queue and result set. One instance per thread (see <see cref="ForCurrentThread"/>); reused across queries
/// and graphs, so searching allocates nothing once the buffers have grown to the largest graph and ef used.
/// </summary>
internal sealed class SearchScratch
{
    [ThreadStatic]
    private static SearchScratch? _instance;

    public VisitedSet Visited { get; } = new();

    public MaxHeap Candidates { get; } = new(256);

    public MinHeap Results { get; } = new(256);

    /// <summary>
    /// The unfiltered walk's candidates and results up to ef 1,024 (<c>HnswGraph.PoolMaxEf</c>); past it, and in the
    /// filtered walk, <see cref="Candidates"/> and <see cref="Results"/> serve.
    /// </summary>
    public CandidatePool Pool { get; } = new();

    /// <summary>Unvisited neighbours of the node being expanded, gathered (and prefetched) before scoring.</summary>
    public int[] Pending { get; private set; } = new int[64];

    /// <summary>Makes <see cref="Pending"/> hold at least <paramref name="size"/> ids.</summary>
    public void EnsurePending(int size)
    {
        if (Pending.Length < size)
        {
            Pending = new int[size];
        }
    }

    public static SearchScratch ForCurrentThread() => _instance ??= new SearchScratch();
}
