using System.Text.Json.Serialization;

namespace Quiver.Server;

internal sealed record VersionInfo(
    [property: JsonPropertyName("title")] string Title,
    [property: JsonPropertyName("version")] string Version,
    [property: JsonPropertyName("quiver_version")] string QuiverVersion);

[JsonSerializable(typeof(VersionInfo))]
internal sealed partial class RestJsonContext : JsonSerializerContext;
