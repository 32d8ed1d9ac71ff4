using System.Text;
using System.Text.Json;
using Quiver.Segment.PayloadIndex;
using Quiver.Segment.Payloads;

namespace Quiver.Segment.Segments;

/// <summary>A payload index as collection info reports it.</summary>
public sealed record PayloadFieldInfo(string Field, PayloadFieldSchema Schema, long Points)
{
    public void WriteInfo(Utf8JsonWriter writer) => Schema.WriteInfo(writer, Points);

    /// <summary>
    /// Adds up point counts field by field: every segment (and shard) holds the same definitions, so the first
    /// list gives the fields and the others add their counts.
    /// </summary>
    public static IReadOnlyList<PayloadFieldInfo> Sum(IEnumerable<IReadOnlyList<PayloadFieldInfo>> parts)
    {
        IReadOnlyList<PayloadFieldInfo>? total = null;
        foreach (var part in parts)
        {
            total = total is null
                ? part
                : [.. total.Select(f => f with { Points = f.Points + (part.FirstOrDefault(o => o.Field == f.Field)?.Points ?? 0) })];
        }

        return total ?? [];
    }
}

/// <summary>
/// A segment's payload indexes plus their definitions as the API gave them (what gets persisted; the index
/// contents are rebuilt from the points on load).
/// </summary>
public sealed class SegmentPayloadIndexes
{
    private readonly Dictionary<string, (PayloadFieldSchema Schema, byte[] Json)> _definitions = new(StringComparer.Ordinal);

    public PayloadIndexSet Set { get; } = new();

    public IReadOnlyList<(string Field, byte[] Schema)> Definitions =>
        [.. _definitions.OrderBy(d => d.Key, StringComparer.Ordinal).Select(d => (d.Key, d.Value.Json))];

    public void Create(string field, JsonElement schemaJson, PointSegment segment)
    {
        var path = JsonPath.Parse(field, "field_name");
        // Definitions reach here after the request was checked strictly (Collection validates before logging).
        var schema = PayloadSchemaParser.Parse(schemaJson, lenient: true);
        Set.Create(path, schema, segment.LiveOffsets().Select(o => (o, segment.PayloadAt(o))));
        _definitions[field] = (schema, Encoding.UTF8.GetBytes(schemaJson.GetRawText()));
    }

    public void Drop(string field)
    {
        if (_definitions.Remove(field))
            Set.Drop(JsonPath.Parse(field, "field_name"));
    }

    /// <summary>Makes this segment's index definitions equal to <paramref name="reference"/>'s.</summary>
    public void SyncWith(SegmentPayloadIndexes reference, PointSegment segment)
    {
        foreach (var field in _definitions.Keys.Except(reference._definitions.Keys).ToArray())
            Drop(field);
        foreach (var (field, (_, json)) in reference._definitions)
        {
            if (_definitions.TryGetValue(field, out var mine) && mine.Json.AsSpan().SequenceEqual(json))
                continue;
            using var doc = JsonDocument.Parse(json);
            Create(field, doc.RootElement, segment);
        }
    }

    public void Add(int offset, Payload payload) => Set.OnPointAdded(offset, payload);

    public void Remove(int offset, Payload payload) => Set.OnPointRemoved(offset, payload);

    /// <summary>True without any index: a removed point's payload need not be read (it may be on disk).</summary>
    public bool IsEmpty => Set.Indexes.Count == 0;

    public IReadOnlyList<PayloadFieldInfo> Describe() =>
        [.. _definitions.OrderBy(d => d.Key, StringComparer.Ordinal)
            .Select(d => new PayloadFieldInfo(d.Key, d.Value.Schema, Set.Get(JsonPath.Parse(d.Key))?.PointsCount ?? 0))];
}
