using System.Text.Json;
using Quiver.Segment.Points;

namespace Quiver.Server.Cluster;

internal sealed partial class ClusterRead
{
    /// <summary>
    /// Scroll: every part's page is in id order and ends before its own next_page_offset, so the first <c>limit</c>
    /// ids of the union are the global page, and the next id in the union (a point or a part's next offset) starts
    /// the following page.
    /// </summary>
    private void MergeScroll(Utf8JsonWriter writer, List<JsonElement> results)
    {
        var limit = Number(_request!, "limit", 10);
        var entries = new List<(PointId Id, JsonElement? Point)>();
        foreach (var result in results)
        {
            foreach (var point in result.GetProperty("points").EnumerateArray())
                entries.Add((IdOf(point), point));
            if (result.TryGetProperty("next_page_offset", out var next) && next.ValueKind != JsonValueKind.Null)
            {
                var text = next.ValueKind == JsonValueKind.String ? next.GetString()! : next.GetRawText();
                if (PointId.TryParse(text, out var id))
                    entries.Add((id, null));
            }
        }

        entries.Sort((a, b) => a.Id != b.Id ? a.Id.CompareTo(b.Id) : (a.Point is null).CompareTo(b.Point is null));
        writer.WriteStartObject();
        writer.WriteStartArray("points");
        var written = 0;
        PointId? nextOffset = null;
        foreach (var (id, point) in entries)
        {
            if (written == limit || point is null)
            {
                nextOffset = id;
                break;
            }

            point.Value.WriteTo(writer);
            written++;
        }

        writer.WriteEndArray();
        writer.WritePropertyName("next_page_offset");
        if (nextOffset is { } offset)
            offset.WriteTo(writer);
        else
            writer.WriteNullValue();
        writer.WriteEndObject();
    }

    /// <summary>Facet: counts of a value summed over the parts; the top <paramref name="limit"/> by count, ties by value.</summary>
    private static void MergeFacet(Utf8JsonWriter writer, List<JsonElement> results, int limit)
    {
        var counts = new Dictionary<string, (JsonElement Value, long Count)>(StringComparer.Ordinal);
        foreach (var result in results)
        {
            foreach (var hit in result.GetProperty("hits").EnumerateArray())
            {
                var value = hit.GetProperty("value");
                var key = value.GetRawText();
                var count = hit.GetProperty("count").GetInt64();
                counts[key] = counts.TryGetValue(key, out var seen) ? (seen.Value, seen.Count + count) : (value, count);
            }
        }

        var hits = counts.Values.ToList();
        hits.Sort((a, b) => a.Count != b.Count ? b.Count.CompareTo(a.Count) : CompareValues(a.Value, b.Value));
        writer.WriteStartObject();
        writer.WriteStartArray("hits");
        foreach (var (value, count) in hits.Take(limit))
        {
            writer.WriteStartObject();
            writer.WritePropertyName("value");
            value.WriteTo(writer);
            writer.WriteNumber("count", count);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <summary>As the engine orders facet values: strings ordinally, numbers numerically, false before true.</summary>
    private static int CompareValues(JsonElement a, JsonElement b) => (a.ValueKind, b.ValueKind) switch
    {
        (JsonValueKind.String, JsonValueKind.String) => string.CompareOrdinal(a.GetString(), b.GetString()),
        (JsonValueKind.Number, JsonValueKind.Number) => a.GetDecimal().CompareTo(b.GetDecimal()),
        _ => (a.ValueKind == JsonValueKind.True).CompareTo(b.ValueKind == JsonValueKind.True),
    };

    /// <summary>Retrieve: each requested point once, in the order of the request's ids (as one node answers).</summary>
    private void MergeRetrieve(Utf8JsonWriter writer, List<JsonElement> results)
    {
        var found = new Dictionary<PointId, JsonElement>();
        foreach (var result in results)
        {
            foreach (var point in result.EnumerateArray())
                found[IdOf(point)] = point;
        }

        writer.WriteStartArray();
        var written = new HashSet<PointId>();
        if (_request!["ids"] is System.Text.Json.Nodes.JsonArray ids)
        {
            foreach (var node in ids)
            {
                var text = node is System.Text.Json.Nodes.JsonValue v && v.TryGetValue<string>(out var s) ? s : node?.ToJsonString() ?? string.Empty;
                if (PointId.TryParse(text, out var id) && found.TryGetValue(id, out var point) && written.Add(id))
                    point.WriteTo(writer);
            }
        }

        writer.WriteEndArray();
    }
}
