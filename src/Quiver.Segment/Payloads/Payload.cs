using System.Text.Json;

namespace Quiver.Segment.Payloads;

/// <summary>
/// An immutable JSON object attached to a point. Immutable so concurrent readers never see a half-applied change:
/// payload operations build a new <see cref="Payload"/> and swap it in.
/// </summary>
public sealed class Payload
{
    private static readonly byte[] EmptyObjectJson = "{}"u8.ToArray();

    private Payload(JsonElement root, byte[] utf8)
    {
        Root = root;
        Utf8 = utf8;
    }

    public static Payload Empty { get; } = FromUtf8(EmptyObjectJson);

    /// <summary>The root JSON object. Always of kind <see cref="JsonValueKind.Object"/>.</summary>
    public JsonElement Root { get; }

    /// <summary>The compact UTF-8 encoding of <see cref="Root"/>: what is persisted and logged.</summary>
    public byte[] Utf8 { get; }

    public bool IsEmpty => Utf8.Length <= 2;

    /// <summary>Takes ownership of <paramref name="utf8"/>, which must hold one JSON object.</summary>
    public static Payload FromUtf8(byte[] utf8)
    {
        ArgumentNullException.ThrowIfNull(utf8);
        // Payloads are immutable: every point without one shares a single instance instead of a parsed document
        // each (a few hundred bytes per point, the bulk of a loaded segment's memory besides its vectors).
        if (Empty is { } empty && utf8.AsSpan().SequenceEqual(EmptyObjectJson))
            return empty;
        using var doc = JsonDocument.Parse(utf8);
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
            throw new ArgumentException("payload must be a JSON object", nameof(utf8));
        return new Payload(doc.RootElement.Clone(), utf8);
    }

    /// <summary>Copies a JSON object element into a standalone payload.</summary>
    public static Payload FromElement(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw new ArgumentException("payload must be a JSON object", nameof(element));
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
            element.WriteTo(writer);
        return FromUtf8(buffer.WrittenSpan.ToArray());
    }
}
