using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Quiver.Segment.Payloads;

/// <summary>
/// Payload operations as pure functions returning a new <see cref="Payload"/>, with Qdrant's semantics
/// (<c>json_path/set.rs</c>, <c>remove.rs</c>, <c>merge_map</c>).
/// </summary>
public static class PayloadOps
{
    /// <summary>
    /// <c>set_payload</c>: merges the top-level keys of <paramref name="values"/> into the payload, or, with
    /// <paramref name="key"/>, into the object at that path. Missing objects on the path are created; a non-object
    /// in the way is replaced by an object; <c>[n]</c> pads arrays with nulls; <c>[]</c> sets into every element
    /// of an existing array (and replaces a non-array by <c>[]</c>). As Qdrant's <c>merge_map</c>, a key set to
    /// null is removed.
    /// </summary>
    public static Payload Set(Payload current, Payload values, JsonPath? key = null)
    {
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(values);
        var dest = ToNode(current);
        var src = ToNode(values);
        if (key is null)
        {
            Merge(dest, src);
        }
        else
        {
            var steps = key.Steps;
            SetInMap(dest, steps[0].Key, steps, 1, src);
        }

        return FromNode(dest);
    }

    /// <summary><c>overwrite_payload</c>: the new payload replaces the old one entirely.</summary>
    public static Payload Overwrite(Payload values)
    {
        ArgumentNullException.ThrowIfNull(values);
        return values;
    }

    /// <summary>
    /// <c>delete_payload</c>: removes each path. <c>a.b</c> removes key b of object a; <c>a[1]</c> removes that array
    /// element (later elements shift); a final <c>[]</c> empties the array; <c>a[].b</c> removes b from every element.
    /// </summary>
    public static Payload DeleteKeys(Payload current, IReadOnlyList<JsonPath> keys)
    {
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count == 0)
            return current;
        var root = ToNode(current);
        foreach (var key in keys)
            Remove(root, key.Steps, 0);
        return FromNode(root);
    }

    /// <summary><c>clear_payload</c>.</summary>
    public static Payload Clear() => Payload.Empty;

    private static void Merge(JsonObject dest, JsonObject src)
    {
        foreach (var name in src.Select(p => p.Key).ToList())
        {
            var value = src[name];
            src.Remove(name);
            if (value is null)
                dest.Remove(name);
            else
                dest[name] = value;
        }
    }

    private static void SetInMap(JsonObject map, string key, IReadOnlyList<JsonPathStep> steps, int next, JsonObject src)
    {
        map.TryGetPropertyValue(key, out var existing);
        map[key] = SetIn(existing, steps, next, src);
    }

    // Returns the node to store in place of `dest` (possibly dest itself, mutated).
    private static JsonNode SetIn(JsonNode? dest, IReadOnlyList<JsonPathStep> steps, int next, JsonObject src)
    {
        if (next == steps.Count)
        {
            var obj = dest as JsonObject ?? [];
            Detach(obj);
            Merge(obj, (JsonObject)src.DeepClone());
            return obj;
        }

        var step = steps[next];
        switch (step.Kind)
        {
            case JsonPathStepKind.Key:
            {
                var obj = dest as JsonObject ?? [];
                Detach(obj);
                SetInMap(obj, step.Key, steps, next + 1, src);
                return obj;
            }

            case JsonPathStepKind.Index:
            {
                var array = dest as JsonArray ?? [];
                Detach(array);
                while (array.Count <= step.Index)
                    array.Add(null);
                array[step.Index] = SetIn(array[step.Index], steps, next + 1, src);
                return array;
            }

            default:
            {
                if (dest is not JsonArray array)
                    return new JsonArray();
                Detach(array);
                for (var i = 0; i < array.Count; i++)
                    array[i] = SetIn(array[i], steps, next + 1, src);
                return array;
            }
        }
    }

    private static void Detach(JsonNode node)
    {
        switch (node.Parent)
        {
            case JsonObject o:
                o.Remove(o.First(p => ReferenceEquals(p.Value, node)).Key);
                break;
            case JsonArray a:
                a[a.IndexOf(node)] = null;
                break;
            default:
                break;
        }
    }

    private static void Remove(JsonNode? node, IReadOnlyList<JsonPathStep> steps, int at)
    {
        var step = steps[at];
        var last = at == steps.Count - 1;
        switch (step.Kind)
        {
            case JsonPathStepKind.Key when node is JsonObject obj:
                if (last)
                    obj.Remove(step.Key);
                else if (obj.TryGetPropertyValue(step.Key, out var child))
                    Remove(child, steps, at + 1);
                break;
            case JsonPathStepKind.Index when node is JsonArray array && step.Index < array.Count:
                if (last)
                    array.RemoveAt(step.Index);
                else
                    Remove(array[step.Index], steps, at + 1);
                break;
            case JsonPathStepKind.Wildcard when node is JsonArray array:
                if (last)
                {
                    array.Clear();
                }
                else
                {
                    foreach (var element in array)
                        Remove(element, steps, at + 1);
                }

                break;
            default:
                break;
        }
    }

    private static JsonObject ToNode(Payload payload) => JsonNode.Parse(payload.Utf8)!.AsObject();

    private static Payload FromNode(JsonObject node)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
            node.WriteTo(writer);
        return Payload.FromUtf8(buffer.WrittenSpan.ToArray());
    }
}
