using System.Text;
using Quiver.Index.Hnsw;
using Quiver.Segment.Payloads;

namespace Quiver.Segment.Segments;

/// <summary>
/// One sealed segment space's payload graphs (hnsw_config.payload_m): for each indexed exact payload value held by
/// more points than an exact scan handles well, an HNSW graph over just those points. A filter requiring the
/// value walks that graph, which is connected however the value's points are spread among the others (the
/// per-tenant graphs of a multitenant collection, even with <c>m: 0</c> and no main graph).
/// </summary>
/// <remarks>
/// Format, version 1 (little-endian; the file's checksum frame is the caller's): magic "QPGS", int32 version,
/// int32 count, then per graph: field path and value key (length-prefixed UTF-8), int32 rows, int32[rows] segment
/// rows ascending (node i is row rows[i]), then the graph in <see cref="HnswGraph"/>'s own format.
/// </remarks>
public sealed class PayloadGraphSet
{
    private const uint Magic = 0x53475051; // "QPGS" read as little-endian
    private const int FormatVersion = 1;

    private readonly Dictionary<string, PayloadGraph> _graphs;

    internal PayloadGraphSet(Dictionary<string, PayloadGraph> graphs) => _graphs = graphs;

    /// <summary>Graphs held.</summary>
    public int Count => _graphs.Count;

    /// <summary>Bytes in memory: links, levels and row tables.</summary>
    public long MemoryBytes => _graphs.Values.Sum(g => g.Graph.MemoryBytes + ((long)g.Rows.Count * sizeof(int)));

    /// <summary>The graph over the points whose <paramref name="field"/> holds the value named <paramref name="valueKey"/>.</summary>
    internal bool TryGet(JsonPath field, string valueKey, out PayloadGraph graph) =>
        _graphs.TryGetValue(KeyOf(field.ToString(), valueKey), out graph!);

    internal static string KeyOf(string field, string valueKey) => field + "\0" + valueKey;

    public void WriteTo(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        w.Write(Magic);
        w.Write(FormatVersion);
        w.Write(_graphs.Count);
        foreach (var (key, graph) in _graphs.OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var split = key.IndexOf('\0', StringComparison.Ordinal);
            w.Write(key[..split]);
            w.Write(key[(split + 1)..]);
            w.Write(graph.Rows.Count);
            foreach (var row in graph.Rows.Rows)
                w.Write(row);
            w.Flush();
            graph.Graph.WriteTo(stream);
        }
    }

    /// <summary>Reads a set written by <see cref="WriteTo"/> for a segment of <paramref name="rows"/> rows of <paramref name="dimension"/> floats.</summary>
    /// <exception cref="InvalidDataException">Damaged, truncated, or not for such a segment.</exception>
    public static PayloadGraphSet ReadFrom(Stream stream, int rows, int dimension)
    {
        ArgumentNullException.ThrowIfNull(stream);
        try
        {
            using var r = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
            if (r.ReadUInt32() != Magic)
                throw new InvalidDataException("Not a payload graph set (bad magic).");
            if (r.ReadInt32() is var version && version != FormatVersion)
                throw new InvalidDataException($"Unsupported payload graph format version {version}; this build reads version {FormatVersion}.");
            var count = r.ReadInt32();
            if (count < 0)
                throw new InvalidDataException($"Invalid payload graph count {count}.");
            var graphs = new Dictionary<string, PayloadGraph>(StringComparer.Ordinal);
            for (var i = 0; i < count; i++)
            {
                var field = r.ReadString();
                var value = r.ReadString();
                var length = r.ReadInt32();
                if (length < 0 || length > rows)
                    throw new InvalidDataException($"Payload graph {field}={value}: {length} rows in a segment of {rows}.");
                var members = new int[length];
                for (var j = 0; j < length; j++)
                {
                    members[j] = r.ReadInt32();
                    if (members[j] < 0 || members[j] >= rows || (j > 0 && members[j] <= members[j - 1]))
                        throw new InvalidDataException($"Payload graph {field}={value}: rows out of order or range.");
                }

                var graph = HnswGraph.ReadFrom(stream).Packed();
                if (graph.Count != length || graph.Dimension != dimension)
                    throw new InvalidDataException($"Payload graph {field}={value}: {graph.Count} nodes of {graph.Dimension} dimensions for {length} rows of {dimension}.");
                graphs[KeyOf(field, value)] = new PayloadGraph(new RowSubset(members), graph);
            }

            return new PayloadGraphSet(graphs);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("Payload graph data is truncated.", e);
        }
    }
}

/// <summary>A graph whose node i is segment row <c>Rows.Rows[i]</c>.</summary>
internal sealed record PayloadGraph(RowSubset Rows, HnswGraph Graph);

/// <summary>
/// The points of one indexed payload value: <see cref="Key"/> names the field and value (as payload graph sets do),
/// <see cref="Rows"/> the segment rows holding it.
/// </summary>
public sealed record PayloadBlock(string Key, RowSubset Rows);
