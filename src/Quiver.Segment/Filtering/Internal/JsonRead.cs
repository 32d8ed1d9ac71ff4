using System.Text.Json;
using Quiver.Segment.Errors;

namespace Quiver.Segment.Filtering.Internal;

/// <summary>Typed reads of request JSON that fail with a BadInput naming the field path.</summary>
internal static class JsonRead
{
    public static void RequireObject(JsonElement e, string path)
    {
        if (e.ValueKind != JsonValueKind.Object)
            throw Bad(path, "expected an object");
    }

    public static string String(JsonElement e, string path) =>
        e.ValueKind == JsonValueKind.String ? e.GetString()! : throw Bad(path, "expected a string");

    public static bool Bool(JsonElement e, string path) => e.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw Bad(path, "expected a boolean"),
    };

    public static double Number(JsonElement e, string path) =>
        e.ValueKind == JsonValueKind.Number ? e.GetDouble() : throw Bad(path, "expected a number");

    public static long UInt(JsonElement e, string path) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out var v) && v >= 0
            ? v
            : throw Bad(path, "expected a non-negative integer");

    public static QuiverException Bad(string path, string message) => QuiverException.BadInput($"{path}: {message}");

    public static QuiverException Unknown(string path, string name) => Bad(path, $"unknown field `{name}`");
}
