namespace Quiver.Index.Hnsw;

/// <summary>Parameters of an HNSW build.</summary>
public sealed record HnswBuildOptions
{
    /// <summary>Links per node on the upper levels; level 0 keeps up to <c>2 * M</c>. At least 2.</summary>
    public int M { get; init; } = 16;

    /// <summary>Size of the dynamic candidate list while inserting (ef at construction time).</summary>
    public int EfConstruct { get; init; } = 100;

    /// <summary>Insertion threads. 1 gives a build that depends only on the input and <see cref="Seed"/>.</summary>
    public int Threads { get; init; } = 1;

    /// <summary>Seed of the level generator.</summary>
    public ulong Seed { get; init; } = 42;

    /// <summary>Run insertion threads at background priority (see <see cref="Threading.BackgroundPriority"/>).</summary>
    public bool Background { get; init; }
}
