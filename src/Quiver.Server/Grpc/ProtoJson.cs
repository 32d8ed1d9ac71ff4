using System.Globalization;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Google.Protobuf.Collections;
using Google.Protobuf.Reflection;
using Qdrant.Client.Grpc;
using Quiver.Segment.Errors;
using FieldType = Google.Protobuf.Reflection.FieldType;

namespace Quiver.Server.Grpc;

/// <summary>
/// Moves values between Qdrant's protobuf messages and the JSON the REST layer reads and writes. Settings messages
/// (HNSW, optimizer, WAL, quantization, index params) have the REST field names, so they convert field by field
/// from the message descriptors; payload values (<c>qdrant.Value</c>) convert to and from plain JSON.
/// </summary>
internal static class ProtoJson
{
    /// <summary>A settings message as REST JSON: set fields only, enums as REST spells them (<c>Int8</c> is <c>int8</c>).</summary>
    public static JsonObject Settings(IMessage message)
    {
        var json = new JsonObject();
        foreach (var field in message.Descriptor.Fields.InFieldNumberOrder())
        {
            var accessor = field.Accessor;
            if (field.IsRepeated)
            {
                if (field.IsMap)
                    throw QuiverException.BadInput($"{field.Name}: not supported over gRPC yet");
                var list = (System.Collections.IList)accessor.GetValue(message);
                if (list.Count > 0)
                    json[field.Name] = new JsonArray([.. list.Cast<object>().Select(v => Scalar(field, v))]);
                continue;
            }

            // Fields without presence are written even at their default: in settings messages they are the
            // required ones (a product quantization's compression x4 is the enum's zero).
            var current = accessor.GetValue(message);
            if ((field.HasPresence && !accessor.HasValue(message)) || current is null)
                continue;
            json[field.Name] = Scalar(field, current);
        }

        return json;
    }

    private static JsonNode? Scalar(FieldDescriptor field, object value) => field.FieldType switch
    {
        FieldType.Message when value is Value v => FromValue(v),
        FieldType.Message when SettingOf(field.MessageType) is { } setting => Scalar(setting, setting.Accessor.GetValue((IMessage)value)),
        FieldType.Message => Settings((IMessage)value),
        FieldType.Enum => JsonValue.Create(EnumName(field.EnumType, Convert.ToInt32(value, CultureInfo.InvariantCulture))),
        FieldType.Bool => JsonValue.Create((bool)value),
        FieldType.String => JsonValue.Create((string)value),
        FieldType.Double => double.IsFinite((double)value) ? JsonValue.Create((double)value) : throw NotFinite(field),
        FieldType.Float => float.IsFinite((float)value) ? JsonValue.Create((float)value) : throw NotFinite(field),
        FieldType.UInt64 or FieldType.Fixed64 => JsonValue.Create((ulong)value),
        FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 => JsonValue.Create((long)value),
        FieldType.UInt32 or FieldType.Fixed32 => JsonValue.Create((uint)value),
        _ => JsonValue.Create(Convert.ToInt64(value, CultureInfo.InvariantCulture)),
    };

    /// <summary>
    /// The enum of a message that only wraps one (a oneof holding a <c>setting</c>, such as binary quantization's
    /// query encoding), which REST spells as the enum's name alone.
    /// </summary>
    private static FieldDescriptor? SettingOf(MessageDescriptor type) =>
        type.Fields.InFieldNumberOrder() is [{ FieldType: FieldType.Enum, Name: "setting" } only] ? only : null;

    private static QuiverException NotFinite(FieldDescriptor field) => QuiverException.BadInput($"Wrong input: {field.Name}: NaN and infinite numbers are not accepted");

    /// <summary>
    /// REST spells Qdrant's enum names in snake case (<c>Int8</c> -> <c>int8</c>, <c>TwoBits</c> -> <c>two_bits</c>,
    /// <c>MaxSim</c> -> <c>max_sim</c>), except distances, which keep their capital.
    /// </summary>
    private static string EnumName(EnumDescriptor type, int number)
    {
        var name = type.FindValueByNumber(number)?.Name ?? number.ToString(CultureInfo.InvariantCulture);
        if (type.Name is "Distance")
            return name;
        var snake = new System.Text.StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0 && char.IsLower(name[i - 1]))
                snake.Append('_');
            snake.Append(char.ToLowerInvariant(name[i]));
        }

        return snake.ToString();
    }

    /// <summary>A REST settings object as a message of <typeparamref name="T"/>: matching names, enums by any case; others ignored.</summary>
    public static T ToSettings<T>(JsonObject json)
        where T : IMessage<T>, new()
    {
        var message = new T();
        Fill(message, json);
        return message;
    }

    private static void Fill(IMessage message, JsonObject json)
    {
        foreach (var (name, node) in json)
        {
            if (node is null || message.Descriptor.FindFieldByName(name) is not { } field || field.IsMap)
                continue;
            if (field.IsRepeated)
            {
                if (node is JsonArray array)
                {
                    var list = (System.Collections.IList)field.Accessor.GetValue(message);
                    foreach (var item in array)
                    {
                        if (item is not null && ReadScalar(field, item) is { } value)
                            list.Add(value);
                    }
                }

                continue;
            }

            if (ReadScalar(field, node) is { } read)
                field.Accessor.SetValue(message, read);
        }
    }

    private static object? ReadScalar(FieldDescriptor field, JsonNode node)
    {
        switch (field.FieldType)
        {
            case FieldType.Message when node is JsonObject obj:
                var nested = (IMessage)Activator.CreateInstance(field.MessageType.ClrType)!;
                Fill(nested, obj);
                return nested;
            case FieldType.Message when SettingOf(field.MessageType) is { } setting && ReadScalar(setting, node) is { } chosen:
                var wrapper = (IMessage)Activator.CreateInstance(field.MessageType.ClrType)!;
                setting.Accessor.SetValue(wrapper, chosen);
                return wrapper;
            case FieldType.Message:
                return null;
            case FieldType.Enum:
                var text = node.GetValueKind() == System.Text.Json.JsonValueKind.String ? node.GetValue<string>().Replace("_", string.Empty, StringComparison.Ordinal) : null;
                return field.EnumType.Values.FirstOrDefault(v => string.Equals(v.Name.Replace("_", string.Empty, StringComparison.Ordinal), text, StringComparison.OrdinalIgnoreCase)) is { } match
                    ? Enum.ToObject(field.EnumType.ClrType, match.Number)
                    : null;
        }

        if (node is not JsonValue value)
            return null;
        return field.FieldType switch
        {
            FieldType.Bool => value.TryGetValue<bool>(out var b) ? b : null,
            FieldType.String => value.TryGetValue<string>(out var s) ? s : null,
            FieldType.Double => value.TryGetValue<double>(out var d) ? d : null,
            FieldType.Float => value.TryGetValue<float>(out var f) ? f : null,
            FieldType.UInt64 or FieldType.Fixed64 => value.TryGetValue<ulong>(out var u) ? u : null,
            FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 => value.TryGetValue<long>(out var l) ? l : null,
            FieldType.UInt32 or FieldType.Fixed32 => value.TryGetValue<uint>(out var ui) ? ui : null,
            _ => value.TryGetValue<int>(out var i) ? i : null,
        };
    }

    /// <summary>A payload map as a JSON object.</summary>
    public static JsonObject FromPayload(MapField<string, Value> payload)
    {
        var json = new JsonObject();
        foreach (var (key, value) in payload)
            json[key] = FromValue(value);
        return json;
    }

    public static JsonNode? FromValue(Value value) => value.KindCase switch
    {
        Value.KindOneofCase.NullValue or Value.KindOneofCase.None => null,
        Value.KindOneofCase.DoubleValue => double.IsFinite(value.DoubleValue)
            ? Double(value.DoubleValue)
            : throw QuiverException.BadInput("payload: NaN and infinite numbers cannot be stored"),
        Value.KindOneofCase.IntegerValue => JsonValue.Create(value.IntegerValue),
        Value.KindOneofCase.StringValue => JsonValue.Create(value.StringValue),
        Value.KindOneofCase.BoolValue => JsonValue.Create(value.BoolValue),
        Value.KindOneofCase.StructValue => FromPayload(value.StructValue.Fields),
        Value.KindOneofCase.ListValue => new JsonArray([.. value.ListValue.Values.Select(FromValue)]),
        _ => null,
    };

    /// <summary>
    /// A double as JSON that stays a double: 2.0 is written <c>2.0</c>, not <c>2</c>, so it is stored and answered as
    /// the floating-point value it was (REST keeps a client's own spelling the same way).
    /// </summary>
    private static JsonNode Double(double value)
    {
        var text = value.ToString("R", CultureInfo.InvariantCulture);
        if (text.AsSpan().IndexOfAny('.', 'E', 'e') < 0)
            text += ".0";
        using var doc = System.Text.Json.JsonDocument.Parse(text);
        return JsonValue.Create(doc.RootElement.Clone())!;
    }

    /// <summary>A stored payload (a JSON object) as the payload map of a response.</summary>
    public static void ToPayload(ReadOnlySpan<byte> utf8Json, MapField<string, Value> into)
    {
        var reader = new System.Text.Json.Utf8JsonReader(utf8Json);
        using var doc = System.Text.Json.JsonDocument.ParseValue(ref reader);
        foreach (var property in doc.RootElement.EnumerateObject())
            into[property.Name] = ToValue(property.Value);
    }

    private static Value ToValue(System.Text.Json.JsonElement element)
    {
        switch (element.ValueKind)
        {
            case System.Text.Json.JsonValueKind.Object:
                var structValue = new Struct();
                foreach (var property in element.EnumerateObject())
                    structValue.Fields[property.Name] = ToValue(property.Value);
                return new Value { StructValue = structValue };
            case System.Text.Json.JsonValueKind.Array:
                var list = new ListValue();
                foreach (var item in element.EnumerateArray())
                    list.Values.Add(ToValue(item));
                return new Value { ListValue = list };
            case System.Text.Json.JsonValueKind.String:
                return new Value { StringValue = element.GetString() };
            case System.Text.Json.JsonValueKind.Number:
                return element.TryGetInt64(out var integer) ? new Value { IntegerValue = integer } : new Value { DoubleValue = element.GetDouble() };
            case System.Text.Json.JsonValueKind.True:
                return new Value { BoolValue = true };
            case System.Text.Json.JsonValueKind.False:
                return new Value { BoolValue = false };
            default:
                return new Value { NullValue = NullValue.NullValue };
        }
    }
}
