using System.Text.Json;
using System.Text.Json.Nodes;
using Quiver.Engine.Collections;
using Quiver.Segment.Points;

namespace Quiver.Server.Cluster;

/// <summary>
/// One scattered read: the body each shard's node gets (a page from offset 0, so the merge can cut the page), and
/// how the parts' results merge into the answer one node holding every shard would give.
/// </summary>
internal sealed partial class ClusterRead
{
    private readonly ClusterRouter.ReadKind _kind;
    private readonly JsonObject? _request;
    private readonly List<(int Offset, int Limit, bool Ascending)> _pages = [];

    private ClusterRead(ClusterRouter.ReadKind kind, JsonObject? request, byte[] body)
    {
        _kind = kind;
        _request = request;
        Body = body;
    }

    /// <summary>The body sent to each node.</summary>
    public byte[] Body { get; private set; }

    /// <summary>Why this read cannot be answered in cluster mode (yet); null when it can.</summary>
    public string? Refusal { get; private set; }

    public static ClusterRead Prepare(ClusterRouter.ReadKind kind, byte[] body, CollectionConfig config)
    {
        if (kind == ClusterRouter.ReadKind.GetPoint)
            return new ClusterRead(kind, null, body);
        var request = JsonNode.Parse(body) as JsonObject ?? throw new JsonException("expected a JSON object");
        var read = new ClusterRead(kind, request, body);
        switch (kind)
        {
            case ClusterRouter.ReadKind.Query:
                read.Refusal = read.PreparePage(request, config, string.Empty);
                break;
            case ClusterRouter.ReadKind.QueryBatch:
                if (request["searches"] is JsonArray searches)
                {
                    for (var i = 0; i < searches.Count && read.Refusal is null; i++)
                        read.Refusal = searches[i] is JsonObject search ? read.PreparePage(search, config, $"searches[{i}].") : null;
                }

                break;
            case ClusterRouter.ReadKind.Scroll:
                if (request.ContainsKey("order_by"))
                    read.Refusal = "Wrong input: scroll with order_by is not available in cluster mode yet";
                break;
            case ClusterRouter.ReadKind.Facet:
                // Each node counts every value it sees; the merge sums them and keeps the top of the totals.
                read._pages.Add((0, Number(request, "limit", 10), false));
                request["limit"] = Collection.MaxLimit;
                break;
            default:
                break;
        }

        if (read.Refusal is null)
            read.Body = JsonSerializer.SerializeToUtf8Bytes(request);
        return read;
    }

    /// <summary>
    /// Checks that a query merges exactly across shards (one nearest-neighbour scoring, no prefetch or fusion, no
    /// point id to look up) and asks each node for offset+limit from 0.
    /// </summary>
    private string? PreparePage(JsonObject search, CollectionConfig config, string path)
    {
        if (search.ContainsKey("prefetch"))
            return $"Wrong input: {path}prefetch is not available in cluster mode yet";
        var query = search["query"];
        if (query is JsonObject nearest && nearest["nearest"] is { } inner)
        {
            if (nearest.Count > 1)
                return $"Wrong input: {path}query: only a plain nearest search is available in cluster mode yet";
            query = inner;
        }

        switch (query)
        {
            case null:
                return $"Wrong input: {path}query: a query without a vector (points in id order) is not available in cluster mode yet; use scroll";
            case JsonValue:
                return $"Wrong input: {path}query: a query by point id is not available in cluster mode yet; query by vector";
            case JsonObject o when !(o.ContainsKey("indices") || o.ContainsKey("text") || o.ContainsKey("model")):
                return $"Wrong input: {path}query: {string.Join(", ", o.Select(p => p.Key))} is not available in cluster mode yet; nearest-vector queries are";
            default:
                break;
        }

        var offset = Number(search, "offset", 0);
        var limit = Number(search, "limit", 10);
        // Values a single node would refuse go on unchanged, so every node refuses them the same way.
        if (IsCount(search, "offset") && IsCount(search, "limit"))
        {
            search["offset"] = 0;
            search["limit"] = Math.Min(Collection.MaxLimit, offset + limit);
        }

        var usingName = search["using"] is JsonValue u && u.TryGetValue<string>(out var name) ? name : string.Empty;
        var space = config.FindSpace(usingName) ?? config.FindMulti(usingName);
        var ascending = config.FindSparse(usingName) is null && space?.Distance is Distance.Euclid or Distance.Manhattan;
        _pages.Add((offset, limit, ascending));
        return null;
    }

    private static bool IsCount(JsonObject request, string field) =>
        request[field] is null || (request[field] is JsonValue v && v.TryGetValue<int>(out var n) && n is >= 0 and <= Collection.MaxLimit);

    private static int Number(JsonObject request, string field, int fallback) =>
        request[field] is JsonValue v && v.TryGetValue<int>(out var n) && n >= 0 ? n : fallback;

    /// <summary>Writes the merged <c>result</c> of the parts' bodies (each an answer envelope).</summary>
    public void Merge(Utf8JsonWriter writer, List<byte[]> parts)
    {
        var documents = parts.Select(p => JsonDocument.Parse(p)).ToList();
        try
        {
            var results = documents.Select(d => d.RootElement.GetProperty("result")).ToList();
            switch (_kind)
            {
                case ClusterRouter.ReadKind.Query:
                    WritePoints(writer, results.Select(r => r.GetProperty("points")), _pages[0]);
                    break;
                case ClusterRouter.ReadKind.QueryBatch:
                    writer.WriteStartArray();
                    for (var i = 0; i < _pages.Count; i++)
                        WritePoints(writer, results.Select(r => r[i].GetProperty("points")), _pages[i]);
                    writer.WriteEndArray();
                    break;
                case ClusterRouter.ReadKind.Scroll:
                    MergeScroll(writer, results);
                    break;
                case ClusterRouter.ReadKind.Count:
                    writer.WriteStartObject();
                    writer.WriteNumber("count", results.Sum(r => r.GetProperty("count").GetInt64()));
                    writer.WriteEndObject();
                    break;
                case ClusterRouter.ReadKind.Facet:
                    MergeFacet(writer, results, _pages[0].Limit);
                    break;
                case ClusterRouter.ReadKind.Retrieve:
                    MergeRetrieve(writer, results);
                    break;
                case ClusterRouter.ReadKind.GetPoint:
                    // Exactly one shard holds the point; a node without it answers 404 and is not a part.
                    results[0].WriteTo(writer);
                    break;
                default:
                    throw new InvalidOperationException($"no merge for {_kind}");
            }
        }
        finally
        {
            foreach (var document in documents)
                document.Dispose();
        }
    }

    private static PointId IdOf(JsonElement point)
    {
        var id = point.GetProperty("id");
        var text = id.ValueKind == JsonValueKind.String ? id.GetString()! : id.GetRawText();
        return PointId.TryParse(text, out var parsed) ? parsed : throw new JsonException($"not a point id: {text}");
    }

    /// <summary>Scored points of every part, best first (score, then id), the page cut from offset.</summary>
    private static void WritePoints(Utf8JsonWriter writer, IEnumerable<JsonElement> lists, (int Offset, int Limit, bool Ascending) page)
    {
        var points = lists.SelectMany(l => l.EnumerateArray()).Select(p => (Point: p, Score: p.GetProperty("score").GetDouble(), Id: IdOf(p))).ToList();
        points.Sort((a, b) => a.Score != b.Score ? (page.Ascending ? a.Score.CompareTo(b.Score) : b.Score.CompareTo(a.Score)) : a.Id.CompareTo(b.Id));
        writer.WriteStartObject();
        writer.WriteStartArray("points");
        foreach (var (point, _, _) in points.Skip(page.Offset).Take(page.Limit))
            point.WriteTo(writer);
        writer.WriteEndArray();
        writer.WriteEndObject();
    }
}
