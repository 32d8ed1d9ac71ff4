using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Quiver.Engine.Internal;

[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(JsonObject))]
internal sealed partial class EngineJsonContext : JsonSerializerContext;
