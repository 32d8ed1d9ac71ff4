namespace Quiver.Index.Hnsw;

/// <summary>Decides which nodes may appear in a filtered search's results.</summary>
public interface IGraphFilter
{
    /// <summary>True when the node (its row index in the vectors) may be returned.</summary>
    bool Accept(int node);
}
