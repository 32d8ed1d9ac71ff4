using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Quiver.Segment.Payloads;
using Quiver.Segment.Points;

namespace Quiver.Engine.Operations;

/// <summary>
/// The binary form of operations in the shard log. Layout: format byte, kind byte, then fields; integers are
/// little-endian, strings and blobs length-prefixed, vectors raw float32. Binary rather than JSON so that
/// replaying a long log tail at start-up is dominated by memory copies, not parsing.
/// </summary>
public static class OperationCodec
{
    /// <summary>Format 2 tags each vector dense, sparse or multi; format 1 (dense only) is still read.</summary>
    private const byte FormatVersion = 2;

    private enum Kind : byte
    {
        Upsert = 1,
        Delete = 2,
        SetPayload = 3,
        OverwritePayload = 4,
        DeletePayloadKeys = 5,
        ClearPayload = 6,
        UpdateVectors = 7,
        DeleteVectors = 8,
        CreateFieldIndex = 9,
        DeleteFieldIndex = 10,
    }

    public static byte[] Encode(PointOperation operation)
    {
        var w = new Writer(new ArrayBufferWriter<byte>(256));
        w.Byte(FormatVersion);
        switch (operation)
        {
            case UpsertPoints u:
                w.Byte((byte)Kind.Upsert);
                w.Int(u.Points.Count);
                foreach (var p in u.Points)
                {
                    w.Id(p.Id);
                    w.Vectors(p.Vectors);
                    w.Blob(p.Payload.Utf8);
                }

                break;
            case DeletePoints d:
                w.Byte((byte)Kind.Delete);
                w.Selector(d.Selector);
                break;
            case SetPayload s:
                w.Byte((byte)Kind.SetPayload);
                w.Blob(s.Values.Utf8);
                w.Selector(s.Selector);
                w.NullableString(s.Key);
                break;
            case OverwritePayload o:
                w.Byte((byte)Kind.OverwritePayload);
                w.Blob(o.Values.Utf8);
                w.Selector(o.Selector);
                break;
            case DeletePayloadKeys k:
                w.Byte((byte)Kind.DeletePayloadKeys);
                w.Strings(k.Keys);
                w.Selector(k.Selector);
                break;
            case ClearPayload c:
                w.Byte((byte)Kind.ClearPayload);
                w.Selector(c.Selector);
                break;
            case UpdateVectors v:
                w.Byte((byte)Kind.UpdateVectors);
                w.Int(v.Points.Count);
                foreach (var p in v.Points)
                {
                    w.Id(p.Id);
                    w.Vectors(p.Vectors);
                }

                break;
            case DeleteVectors dv:
                w.Byte((byte)Kind.DeleteVectors);
                w.Selector(dv.Selector);
                w.Strings(dv.VectorNames);
                break;
            case CreateFieldIndex ci:
                w.Byte((byte)Kind.CreateFieldIndex);
                w.String(ci.FieldName);
                w.Blob(ci.SchemaJson);
                break;
            case DeleteFieldIndex di:
                w.Byte((byte)Kind.DeleteFieldIndex);
                w.String(di.FieldName);
                break;
            default:
                throw new ArgumentException($"unknown operation {operation.GetType().Name}", nameof(operation));
        }

        return w.ToArray();
    }

    public static PointOperation Decode(ReadOnlySpan<byte> data)
    {
        var r = new Reader(data);
        var format = r.Byte();
        if (format is < 1 or > FormatVersion)
            throw new InvalidDataException($"unsupported operation format {format}");
        r.Format = format;
        var kind = (Kind)r.Byte();
        switch (kind)
        {
            case Kind.Upsert:
            {
                var count = r.Int();
                var points = new PointWrite[count];
                for (var i = 0; i < count; i++)
                    points[i] = new PointWrite(r.Id(), r.Vectors(), Payload.FromUtf8(r.Blob()));
                return new UpsertPoints(points);
            }

            case Kind.Delete:
                return new DeletePoints(r.Selector());
            case Kind.SetPayload:
            {
                var values = Payload.FromUtf8(r.Blob());
                var selector = r.Selector();
                return new SetPayload(values, selector, r.NullableString());
            }

            case Kind.OverwritePayload:
            {
                var values = Payload.FromUtf8(r.Blob());
                return new OverwritePayload(values, r.Selector());
            }

            case Kind.DeletePayloadKeys:
            {
                var keys = r.Strings();
                return new DeletePayloadKeys(keys, r.Selector());
            }

            case Kind.ClearPayload:
                return new ClearPayload(r.Selector());
            case Kind.UpdateVectors:
            {
                var count = r.Int();
                var points = new PointVectors[count];
                for (var i = 0; i < count; i++)
                    points[i] = new PointVectors(r.Id(), r.Vectors());
                return new UpdateVectors(points);
            }

            case Kind.DeleteVectors:
            {
                var selector = r.Selector();
                return new DeleteVectors(selector, r.Strings());
            }

            case Kind.CreateFieldIndex:
            {
                var name = r.String();
                return new CreateFieldIndex(name, r.Blob());
            }

            case Kind.DeleteFieldIndex:
                return new DeleteFieldIndex(r.String());
            default:
                throw new InvalidDataException($"unknown operation kind {(byte)kind}");
        }
    }

    private readonly struct Writer(ArrayBufferWriter<byte> buffer)
    {
        public byte[] ToArray() => buffer.WrittenSpan.ToArray();

        public void Byte(byte value)
        {
            buffer.GetSpan(1)[0] = value;
            buffer.Advance(1);
        }

        public void Int(int value)
        {
            BinaryPrimitives.WriteInt32LittleEndian(buffer.GetSpan(4), value);
            buffer.Advance(4);
        }

        public void Id(PointId id)
        {
            if (id.IsUuid)
            {
                Byte(1);
                id.Uuid.TryWriteBytes(buffer.GetSpan(16), bigEndian: true, out _);
                buffer.Advance(16);
            }
            else
            {
                Byte(0);
                BinaryPrimitives.WriteUInt64LittleEndian(buffer.GetSpan(8), id.Number);
                buffer.Advance(8);
            }
        }

        public void Blob(ReadOnlySpan<byte> bytes)
        {
            Int(bytes.Length);
            bytes.CopyTo(buffer.GetSpan(bytes.Length));
            buffer.Advance(bytes.Length);
        }

        public void String(string value) => Blob(Encoding.UTF8.GetBytes(value));

        public void NullableString(string? value)
        {
            if (value is null)
            {
                Int(-1);
                return;
            }

            String(value);
        }

        public void Strings(IReadOnlyList<string> values)
        {
            Int(values.Count);
            foreach (var v in values)
                String(v);
        }

        public void Vectors(IReadOnlyList<NamedVector> vectors)
        {
            Int(vectors.Count);
            foreach (var v in vectors)
            {
                String(v.Name);
                if (v.Sparse is { } sparse)
                {
                    Byte(1);
                    Blob(MemoryMarshal.AsBytes(sparse.Indices.AsSpan()));
                    Blob(MemoryMarshal.AsBytes(sparse.Values.AsSpan()));
                }
                else if (v.Multi is { } multi)
                {
                    Byte(2);
                    Int(multi.Dimension);
                    Blob(MemoryMarshal.AsBytes(multi.Values.AsSpan()));
                }
                else
                {
                    Byte(0);
                    Blob(MemoryMarshal.AsBytes(v.Values.AsSpan()));
                }
            }
        }

        public void Selector(PointSelector selector)
        {
            if (selector.Ids is { } ids)
            {
                Byte(0);
                Int(ids.Count);
                foreach (var id in ids)
                    Id(id);
            }
            else
            {
                Byte(1);
                Blob(selector.Filter!.Json);
            }
        }
    }

    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _pos;

        public byte Format { get; set; }

        public byte Byte() => _data[_pos++];

        public int Int()
        {
            var v = BinaryPrimitives.ReadInt32LittleEndian(_data.Slice(_pos, 4));
            _pos += 4;
            return v;
        }

        public PointId Id()
        {
            if (Byte() == 1)
            {
                var g = new Guid(_data.Slice(_pos, 16), bigEndian: true);
                _pos += 16;
                return PointId.FromUuid(g);
            }

            var n = BinaryPrimitives.ReadUInt64LittleEndian(_data.Slice(_pos, 8));
            _pos += 8;
            return PointId.FromNumber(n);
        }

        public ReadOnlySpan<byte> BlobSpan()
        {
            var length = Int();
            var span = _data.Slice(_pos, length);
            _pos += length;
            return span;
        }

        public byte[] Blob() => BlobSpan().ToArray();

        public string String() => Encoding.UTF8.GetString(BlobSpan());

        public string? NullableString()
        {
            var length = BinaryPrimitives.ReadInt32LittleEndian(_data.Slice(_pos, 4));
            if (length < 0)
            {
                _pos += 4;
                return null;
            }

            return String();
        }

        public string[] Strings()
        {
            var count = Int();
            var result = new string[count];
            for (var i = 0; i < count; i++)
                result[i] = String();
            return result;
        }

        public NamedVector[] Vectors()
        {
            var count = Int();
            var result = new NamedVector[count];
            for (var i = 0; i < count; i++)
            {
                var name = String();
                var kind = Format >= 2 ? Byte() : (byte)0;
                if (kind == 1)
                {
                    var indices = MemoryMarshal.Cast<byte, uint>(BlobSpan()).ToArray();
                    var values = MemoryMarshal.Cast<byte, float>(BlobSpan()).ToArray();
                    result[i] = NamedVector.OfSparse(name, SparseVector.Create(indices, values));
                    continue;
                }

                if (kind == 2)
                {
                    var dimension = Int();
                    result[i] = NamedVector.OfMulti(name, MultiVector.FromFlat(MemoryMarshal.Cast<byte, float>(BlobSpan()).ToArray(), dimension));
                    continue;
                }

                var bytes = BlobSpan();
                result[i] = new NamedVector(name, MemoryMarshal.Cast<byte, float>(bytes).ToArray());
            }

            return result;
        }

        public PointSelector Selector()
        {
            if (Byte() == 0)
            {
                var count = Int();
                var ids = new PointId[count];
                for (var i = 0; i < count; i++)
                    ids[i] = Id();
                return PointSelector.ByIds(ids);
            }

            return PointSelector.ByFilter(new FilterSpec(Blob()));
        }
    }
}
