using System.Text.Json.Nodes;
using Quiver.Segment.Payloads;

namespace Quiver.Engine.Query;

/// <summary>Applies a with_payload selector's include/exclude key lists (dotted paths) to a payload.</summary>
internal static class PayloadProjection
{
    public static Payload Apply(Payload payload, WithPayload selector)
    {
        if (selector.Include is null && selector.Exclude is null)
            return payload;
        var source = JsonNode.Parse(payload.Utf8)!.AsObject();
        JsonObject result;
        if (selector.Include is { } include)
        {
            result = [];
            foreach (var key in include)
                CopyPath(source, result, key.Split('.'));
        }
        else
        {
            result = source;
        }

        if (selector.Exclude is { } exclude)
        {
            foreach (var key in exclude)
                RemovePath(result, key.Split('.'));
        }

        return Payload.FromUtf8(System.Text.Encoding.UTF8.GetBytes(result.ToJsonString()));
    }

    private static void CopyPath(JsonObject source, JsonObject target, string[] parts)
    {
        JsonObject src = source, dst = target;
        for (var i = 0; i < parts.Length; i++)
        {
            if (!src.TryGetPropertyValue(parts[i], out var value) || value is null)
                return;
            if (i == parts.Length - 1)
            {
                dst[parts[i]] = value.DeepClone();
                return;
            }

            if (value is not JsonObject child)
                return;
            if (dst[parts[i]] is not JsonObject next)
                dst[parts[i]] = next = [];
            src = child;
            dst = next;
        }
    }

    private static void RemovePath(JsonObject target, string[] parts)
    {
        var node = target;
        for (var i = 0; i < parts.Length - 1; i++)
        {
            if (node[parts[i]] is not JsonObject next)
                return;
            node = next;
        }

        node.Remove(parts[^1]);
    }
}
