using System.Text.Json;

namespace Quiver.Segment.PayloadIndex;

/// <summary>
/// A parsed spec <c>PayloadFieldSchema</c>: the short form (<c>"keyword"</c>) or the params form
/// (<c>{"type":"text", ...}</c>). The params object is kept verbatim to echo it back in <c>PayloadIndexInfo</c>.
/// </summary>
public sealed class PayloadFieldSchema
{
    internal PayloadFieldSchema(PayloadSchemaType type, JsonElement? parameters, TextIndexParams? text)
    {
        Type = type;
        Params = parameters;
        Text = text;
    }

    public PayloadSchemaType Type { get; }

    /// <summary>The params object when the params form was used, otherwise null.</summary>
    public JsonElement? Params { get; }

    /// <summary>The text index settings (defaults for a short-form <c>"text"</c>); null for other types.</summary>
    public TextIndexParams? Text { get; }

    public static PayloadFieldSchema Of(PayloadSchemaType type) =>
        new(type, null, type == PayloadSchemaType.Text ? new TextIndexParams() : null);

    /// <summary>The spec name of the type (<c>keyword</c>, <c>integer</c>, ...).</summary>
    public string TypeName => Type.ToString().ToLowerInvariant();

    /// <summary>Writes the spec's <c>PayloadIndexInfo</c>: <c>{"data_type", "params"?, "points"}</c>.</summary>
    public void WriteInfo(Utf8JsonWriter writer, long points)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        writer.WriteString("data_type", TypeName);
        if (Params is { } p)
        {
            writer.WritePropertyName("params");
            p.WriteTo(writer);
        }

        writer.WriteNumber("points", points);
        writer.WriteEndObject();
    }
}
