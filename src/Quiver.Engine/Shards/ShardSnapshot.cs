using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Quiver.Segment.Payloads;
using Quiver.Segment.Points;
using Quiver.Segment.Segments;
using Quiver.Storage.Files;

namespace Quiver.Engine.Shards;

/// <summary>
/// Persisted points: every live point of some segments with its version, payload and vectors, the payload index
/// definitions, and the last log sequence the state includes. Written atomically inside a checksummed file. Used
/// for the shard's not-yet-indexed points (rewritten at each flush) and, once, for each indexed segment's points
/// (dense, in offset order, so graph node ids stay valid). Version 2 adds a flag per vector space: set, the space's
/// rows are not in this file but in the segment's vector file (<see cref="VectorFile"/>), and each point records only
/// whether it has a vector there. Version 3 adds each point's sparse vectors after its dense ones, version 4 its multivectors after those.
/// </summary>
internal static class ShardSnapshot
{
    private const string Kind = "QSEG";
    private const ushort Version = 4;

    /// <summary>Writes a body from <see cref="Serialize"/>: the slow part (disk, fsync) needs no lock.</summary>
    public static void WriteSerialized(string path, MemoryStream body) =>
        ChecksummedFile.WriteAtomic(path, Kind, Version, stream => body.WriteTo(stream));

    /// <summary>
    /// What a snapshot of <paramref name="segments"/> holds (with the payload index definitions of
    /// <paramref name="definitionsFrom"/>), taken under the shard's read lock: per live point its
    /// id, version, payload (immutable objects) and vector presence, and each segment's rows. Rows that no write
    /// changes in place (sealed and live-indexed segments) are referenced, others copied, so the bulk of the work,
    /// <see cref="Serialize"/>, runs after the lock is released.
    /// </summary>
    public static SnapshotCapture Capture(IReadOnlyList<PointSegment> segments, PointSegment definitionsFrom, ulong appliedSequence)
    {
        var spaces = definitionsFrom.Spaces;
        var points = new List<CapturedPoint>(segments.Sum(x => x.LiveCount));
        var present = new List<bool>(points.Capacity * spaces.Count);
        var rows = new ReadOnlyMemory<float>[segments.Count][];
        for (var i = 0; i < segments.Count; i++)
        {
            var segment = segments[i];
            rows[i] = segment.SnapshotRows();
            foreach (var offset in segment.LiveOffsets())
            {
                points.Add(new CapturedPoint(i, offset, segment.IdAt(offset), segment.VersionAt(offset), segment.PayloadAt(offset), SparseOf(segment, offset)));
                for (var s = 0; s < spaces.Count; s++)
                    present.Add(segment.HasVector(offset, s));
            }
        }

        return new SnapshotCapture(appliedSequence, spaces, [.. definitionsFrom.Indexes.Definitions], points, present, rows);
    }

    /// <summary>
    /// The file body for a capture; needs no lock. The spaces <paramref name="rowsElsewhere"/> flags have their rows
    /// written to vector files instead, by the caller.
    /// </summary>
    public static MemoryStream Serialize(SnapshotCapture capture, IReadOnlyList<bool>? rowsElsewhere = null)
    {
        var body = new MemoryStream();
        // Buffered, and flushed rather than disposed: the stream underneath is returned to the caller.
        var buffered = new BufferedStream(body, 1 << 16);
        using var w = new BinaryWriter(buffered, Encoding.UTF8, leaveOpen: true);
        w.Write(capture.AppliedSequence);
        w.Write(capture.Spaces.Count);
        for (var s = 0; s < capture.Spaces.Count; s++)
        {
            w.Write(capture.Spaces[s].Name);
            w.Write(capture.Spaces[s].Dimension);
            w.Write(rowsElsewhere?[s] == true);
        }

        w.Write(capture.Indexes.Count);
        foreach (var (field, schema) in capture.Indexes)
        {
            w.Write(field);
            WriteBlob(w, schema);
        }

        w.Write(capture.Points.Count);
        var spaceCount = capture.Spaces.Count;
        for (var p = 0; p < capture.Points.Count; p++)
        {
            var point = capture.Points[p];
            var id = point.Id;
            w.Write(id.IsUuid);
            if (id.IsUuid)
                w.Write(id.Uuid.ToByteArray(bigEndian: true));
            else
                w.Write(id.Number);
            w.Write(point.Version);
            WriteBlob(w, point.Payload.Utf8);
            for (var s = 0; s < spaceCount; s++)
            {
                var present = capture.Present[(p * spaceCount) + s];
                w.Write(present);
                if (present && rowsElsewhere?[s] != true)
                {
                    var dim = capture.Spaces[s].Dimension;
                    w.Write(MemoryMarshal.AsBytes(capture.Rows[point.Segment][s].Span.Slice(point.Offset * dim, dim)));
                }
            }

            var side = point.Sparse ?? [];
            w.Write(side.Count(v => v.IsSparse));
            foreach (var v in side.Where(v => v.IsSparse))
            {
                w.Write(v.Name);
                w.Write(v.Sparse!.Count);
                w.Write(MemoryMarshal.AsBytes(v.Sparse.Indices.AsSpan()));
                w.Write(MemoryMarshal.AsBytes(v.Sparse.Values.AsSpan()));
            }

            w.Write(side.Count(v => v.IsMulti));
            foreach (var v in side.Where(v => v.IsMulti))
            {
                w.Write(v.Name);
                w.Write(v.Multi!.Dimension);
                w.Write(v.Multi.Values.Length);
                w.Write(MemoryMarshal.AsBytes(v.Multi.Values.AsSpan()));
            }
        }

        w.Flush();
        buffered.Flush();
        return body;
    }

    public static (PointSegment Segment, ulong AppliedSequence) Load(string path, IReadOnlyList<SegmentVectorSpace> spaces)
    {
        var (segment, applied, _) = LoadWithLayout(path, spaces);
        return (segment, applied);
    }

    /// <summary>
    /// Like <see cref="Load"/>, and says per space whether its rows are in a vector file rather than this one (the
    /// loaded segment then has none of them yet). With <paramref name="payloadsOnDisk"/> the segment is sealed and
    /// its payloads stay in the file, mapped (see <see cref="PointSegment.MapPayloads"/>).
    /// </summary>
    public static (PointSegment Segment, ulong AppliedSequence, bool[] RowsElsewhere) LoadWithLayout(string path, IReadOnlyList<SegmentVectorSpace> spaces, bool payloadsOnDisk = false)
    {
        if (!File.Exists(path))
            return (new PointSegment(spaces), 0, new bool[spaces.Count]);
        PointSegment? segment = null;
        var rowsElsewhere = new bool[spaces.Count];
        var positions = payloadsOnDisk ? new List<long>() : null;
        var (applied, definitions) = Read(
            path,
            spaces,
            (count, elsewhere) =>
            {
                rowsElsewhere = elsewhere;
                segment = new PointSegment(spaces, Math.Max(1024, count), elsewhere);
            },
            (id, version, vectors, payload) => segment!.Upsert(id, version, vectors, payload),
            positions);
        if (positions is not null)
        {
            // Before the indexes are built: they read the payloads from the file.
            segment!.Seal();
            segment.MapPayloads(new MappedPayloads(path, [.. positions]));
        }

        // Indexes are rebuilt from the loaded points; only their definitions are stored.
        foreach (var (field, schema) in definitions)
        {
            using var doc = JsonDocument.Parse(schema);
            segment!.Indexes.Create(field, doc.RootElement, segment);
        }

        return (segment!, applied, rowsElsewhere);
    }

    /// <summary>
    /// Maps the payloads of the segment <paramref name="path"/> holds (a sealed segment's points file, written from
    /// or loaded as <paramref name="segment"/>), for <see cref="PointSegment.MapPayloads"/>.
    /// </summary>
    public static MappedPayloads MapPayloads(string path, PointSegment segment)
    {
        var positions = new List<long>(segment.UsedSlots);
        Read(path, segment.Spaces, (_, _) => { }, (_, _, _, _) => { }, positions);
        return new MappedPayloads(path, [.. positions]);
    }

    /// <summary>
    /// Every row of <paramref name="segment"/> from <paramref name="from"/> to <paramref name="to"/> - 1, deleted
    /// ones included (their ids keep the offsets of the rows after them), for a chunk file of an append-only
    /// segment. Under the shard's read lock; the rows themselves are referenced, not copied.
    /// </summary>
    public static SnapshotCapture CaptureRange(PointSegment segment, int from, int to)
    {
        var spaces = segment.Spaces;
        var points = new List<CapturedPoint>(to - from);
        var present = new List<bool>((to - from) * spaces.Count);
        for (var offset = from; offset < to; offset++)
        {
            points.Add(new CapturedPoint(0, offset, segment.IdAt(offset), segment.VersionAt(offset), segment.PayloadAt(offset), SparseOf(segment, offset)));
            for (var s = 0; s < spaces.Count; s++)
                present.Add(segment.HasVector(offset, s));
        }

        return new SnapshotCapture(0, spaces, [], points, present, [segment.SnapshotRows()]);
    }

    /// <summary>
    /// Appends the rows of a chunk file to an append-only segment, checking they land at offsets from
    /// <paramref name="firstRow"/> on, and marks the rows in <paramref name="deleted"/> deleted.
    /// </summary>
    public static void LoadRows(string path, PointSegment segment, int firstRow, HashSet<int> deleted)
    {
        var next = firstRow;
        Read(path, segment.Spaces, (_, elsewhere) =>
        {
            if (Array.IndexOf(elsewhere, true) >= 0)
                throw new InvalidDataException($"{path}: a chunk file holds every row itself");
        }, (id, version, vectors, payload) =>
        {
            var offset = segment.AppendRow(id, version, vectors, payload, live: !deleted.Contains(next));
            if (offset != next++)
                throw new InvalidDataException($"{path}: row {next - 1} loaded at offset {offset}");
        });
    }

    /// <param name="payloadPositions">
    /// When given, payloads are not parsed: the file position of each one's bytes is added instead (its length is the
    /// int32 before it), and the callback gets <see cref="Payload.Empty"/> in its place.
    /// </param>
    private static (ulong Applied, List<(string Field, byte[] Schema)> Definitions) Read(
        string path, IReadOnlyList<SegmentVectorSpace> spaces, Action<int, bool[]> begin, Action<PointId, ulong, List<NamedVector>, Payload> point,
        List<long>? payloadPositions = null)
    {
        // Streamed after a checksum pass: a points file may be larger than the memory its payloads are meant to save.
        var (fileVersion, stream) = ChecksummedFile.OpenVerified(path, Kind, Version);
        using var r = new BinaryReader(stream, Encoding.UTF8, leaveOpen: false);
        var applied = r.ReadUInt64();
        var spaceCount = r.ReadInt32();
        if (spaceCount != spaces.Count)
            throw new InvalidDataException($"{path}: holds {spaceCount} vector spaces, the collection has {spaces.Count}");
        var rowsElsewhere = new bool[spaceCount];
        for (var s = 0; s < spaceCount; s++)
        {
            var name = r.ReadString();
            var dim = r.ReadInt32();
            if (name != spaces[s].Name || dim != spaces[s].Dimension)
                throw new InvalidDataException($"{path}: vector space {s} is '{name}'/{dim}, expected '{spaces[s].Name}'/{spaces[s].Dimension}");
            rowsElsewhere[s] = fileVersion >= 2 && r.ReadBoolean();
        }

        var indexCount = r.ReadInt32();
        var definitions = new List<(string, byte[])>(indexCount);
        for (var i = 0; i < indexCount; i++)
            definitions.Add((r.ReadString(), ReadBlob(r)));

        var count = r.ReadInt32();
        begin(count, rowsElsewhere);
        var vectors = new List<NamedVector>(spaces.Count);
        for (var i = 0; i < count; i++)
        {
            var id = r.ReadBoolean() ? PointId.FromUuid(new Guid(r.ReadBytes(16), bigEndian: true)) : PointId.FromNumber(r.ReadUInt64());
            var version = r.ReadUInt64();
            Payload payload;
            if (payloadPositions is null)
            {
                payload = Payload.FromUtf8(ReadBlob(r));
            }
            else
            {
                var size = r.ReadInt32();
                if (size < 0)
                    throw new InvalidDataException($"{path}: the payload of row {i} has length {size}");
                payloadPositions.Add(stream.Position);
                stream.Seek(size, SeekOrigin.Current);
                payload = Payload.Empty;
            }

            vectors.Clear();
            for (var s = 0; s < spaces.Count; s++)
            {
                if (!r.ReadBoolean() || rowsElsewhere[s])
                    continue;
                var values = new float[spaces[s].Dimension];
                r.BaseStream.ReadExactly(MemoryMarshal.AsBytes(values.AsSpan()));
                vectors.Add(new NamedVector(spaces[s].Name, values));
            }

            var sparseCount = fileVersion >= 3 ? r.ReadInt32() : 0;
            for (var v = 0; v < sparseCount; v++)
            {
                var name = r.ReadString();
                var n = r.ReadInt32();
                if (n < 0)
                    throw new InvalidDataException($"{path}: sparse vector '{name}' of row {i} has length {n}");
                var indices = new uint[n];
                var values = new float[n];
                r.BaseStream.ReadExactly(MemoryMarshal.AsBytes(indices.AsSpan()));
                r.BaseStream.ReadExactly(MemoryMarshal.AsBytes(values.AsSpan()));
                vectors.Add(NamedVector.OfSparse(name, SparseVector.Create(indices, values)));
            }

            var multiCount = fileVersion >= 4 ? r.ReadInt32() : 0;
            for (var v = 0; v < multiCount; v++)
            {
                var name = r.ReadString();
                var dim = r.ReadInt32();
                var length = r.ReadInt32();
                if (dim < 1 || length < dim || length % dim != 0)
                    throw new InvalidDataException($"{path}: multivector '{name}' of row {i} has {length} values of dimension {dim}");
                var values = new float[length];
                r.BaseStream.ReadExactly(MemoryMarshal.AsBytes(values.AsSpan()));
                vectors.Add(NamedVector.OfMulti(name, MultiVector.FromFlat(values, dim)));
            }

            point(id, version, vectors, payload);
        }

        return (applied, definitions);
    }

    /// <summary>A row's sparse vectors and multivectors (immutable instances, safe to serialise after the lock), or null without any.</summary>
    private static List<NamedVector>? SparseOf(PointSegment segment, int offset)
    {
        List<NamedVector>? result = null;
        foreach (var name in segment.SparseNames)
        {
            if (segment.SparseAt(offset, name) is { } sparse)
                (result ??= []).Add(NamedVector.OfSparse(name, sparse));
        }

        foreach (var name in segment.MultiNames)
        {
            if (segment.MultiAt(offset, name) is { } multi)
                (result ??= []).Add(NamedVector.OfMulti(name, multi));
        }

        return result;
    }

    private static void WriteBlob(BinaryWriter w, byte[] bytes)
    {
        w.Write(bytes.Length);
        w.Write(bytes);
    }

    private static byte[] ReadBlob(BinaryReader r) => r.ReadBytes(r.ReadInt32());
}

/// <summary>One live point of a <see cref="SnapshotCapture"/>: where its rows are and what changes in place.</summary>
internal readonly record struct CapturedPoint(int Segment, int Offset, PointId Id, ulong Version, Payload Payload, List<NamedVector>? Sparse = null);

/// <summary>A snapshot's content taken under the lock (see <see cref="ShardSnapshot.Capture"/>).</summary>
internal sealed record SnapshotCapture(
    ulong AppliedSequence,
    IReadOnlyList<SegmentVectorSpace> Spaces,
    IReadOnlyList<(string Field, byte[] Schema)> Indexes,
    List<CapturedPoint> Points,
    List<bool> Present,
    ReadOnlyMemory<float>[][] Rows);
