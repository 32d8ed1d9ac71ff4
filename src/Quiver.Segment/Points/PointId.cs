using System.Globalization;
using System.Text.Json;
using Quiver.Segment.Errors;

namespace Quiver.Segment.Points;

/// <summary>
/// A point id: an unsigned 64-bit integer or a UUID. Ordering follows Qdrant: every numeric id sorts
/// before every UUID; numbers by value, UUIDs by their canonical string (byte order).
/// </summary>
public readonly struct PointId : IEquatable<PointId>, IComparable<PointId>
{
    private readonly ulong _num;
    private readonly Guid _uuid;

    private PointId(ulong num, Guid uuid, bool isUuid)
    {
        _num = num;
        _uuid = uuid;
        IsUuid = isUuid;
    }

    public bool IsUuid { get; }

    public ulong Number => IsUuid ? throw new InvalidOperationException("not a numeric id") : _num;

    public Guid Uuid => IsUuid ? _uuid : throw new InvalidOperationException("not a uuid");

    public static PointId FromNumber(ulong value) => new(value, Guid.Empty, false);

    public static PointId FromUuid(Guid value) => new(0, value, true);

    public static bool TryParse(string text, out PointId id)
    {
        if (Guid.TryParse(text, out var g))
        {
            id = FromUuid(g);
            return true;
        }

        if (ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
        {
            id = FromNumber(n);
            return true;
        }

        id = default;
        return false;
    }

    /// <summary>Reads an id from JSON: a non-negative integer or a UUID string.</summary>
    public static PointId FromJson(JsonElement element, string field)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Number when element.TryGetUInt64(out var n):
                return FromNumber(n);
            case JsonValueKind.String when Guid.TryParse(element.GetString(), out var g):
                return FromUuid(g);
            default:
                throw QuiverException.BadInput(
                    $"Format error in JSON body: {field}: value {Truncate(element.GetRawText())} is not a valid point ID, valid values are either an unsigned integer or a UUID");
        }
    }

    public void WriteTo(Utf8JsonWriter writer)
    {
        if (IsUuid)
            writer.WriteStringValue(_uuid.ToString("D"));
        else
            writer.WriteNumberValue(_num);
    }

    public bool Equals(PointId other) => IsUuid == other.IsUuid && _num == other._num && _uuid == other._uuid;

    public override bool Equals(object? obj) => obj is PointId other && Equals(other);

    public override int GetHashCode() => IsUuid ? _uuid.GetHashCode() : _num.GetHashCode();

    /// <summary>
    /// The shard of <paramref name="shards"/> this point lives in: a fixed mix of the id, stable across processes and
    /// versions (routing must never change for a stored point; resharding recomputes it for the new count).
    /// </summary>
    public int ShardIn(int shards)
    {
        if (shards <= 1)
            return 0;
        ulong h;
        if (IsUuid)
        {
            Span<byte> b = stackalloc byte[16];
            _uuid.TryWriteBytes(b, bigEndian: true, out _);
            h = BitConverter.ToUInt64(b) ^ (BitConverter.ToUInt64(b[8..]) * 0x9E3779B97F4A7C15UL);
        }
        else
        {
            h = _num;
        }

        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdUL;
        h ^= h >> 33;
        return (int)(h % (ulong)shards);
    }

    public int CompareTo(PointId other)
    {
        if (IsUuid != other.IsUuid)
            return IsUuid ? 1 : -1;
        return IsUuid ? CompareUuid(_uuid, other._uuid) : _num.CompareTo(other._num);
    }

    public override string ToString() => IsUuid ? _uuid.ToString("D") : _num.ToString(CultureInfo.InvariantCulture);

    public static bool operator ==(PointId left, PointId right) => left.Equals(right);

    public static bool operator !=(PointId left, PointId right) => !left.Equals(right);

    public static bool operator <(PointId left, PointId right) => left.CompareTo(right) < 0;

    public static bool operator >(PointId left, PointId right) => left.CompareTo(right) > 0;

    public static bool operator <=(PointId left, PointId right) => left.CompareTo(right) <= 0;

    public static bool operator >=(PointId left, PointId right) => left.CompareTo(right) >= 0;

    private static int CompareUuid(Guid a, Guid b)
    {
        Span<byte> x = stackalloc byte[16];
        Span<byte> y = stackalloc byte[16];
        a.TryWriteBytes(x, bigEndian: true, out _);
        b.TryWriteBytes(y, bigEndian: true, out _);
        return x.SequenceCompareTo(y);
    }

    private static string Truncate(string s) => s.Length <= 64 ? s : string.Concat(s.AsSpan(0, 61), "...");
}
