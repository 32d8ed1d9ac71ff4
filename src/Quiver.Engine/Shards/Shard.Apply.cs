using System.Text.Json;
using Quiver.Engine.Operations;
using Quiver.Segment.Filtering;
using Quiver.Segment.Payloads;
using Quiver.Segment.Points;
using Quiver.Segment.Segments;

namespace Quiver.Engine.Shards;

internal sealed partial class Shard
{
    // Called with the write lock held, in log order. A point lives in one segment; changing a point that lives in
    // a sealed segment moves it (copy-on-write) to the appendable segment and deletes the sealed copy.
    private void Apply(ulong sequence, PointOperation operation)
    {
        switch (operation)
        {
            case UpsertPoints upsert:
                foreach (var p in upsert.Points)
                {
                    _set.Appendable.CheckVectors(p.Vectors);
                    if (_set.TryLocate(p.Id, out var segment, out var offset))
                    {
                        if (segment.VersionAt(offset) >= sequence)
                            continue;
                        if (segment.IsSealed)
                            segment.Delete(p.Id, sequence);
                    }

                    _set.Appendable.Upsert(p.Id, sequence, p.Vectors, p.Payload);
                }

                break;
            case DeletePoints delete:
                foreach (var id in Resolve(delete.Selector))
                {
                    if (_set.TryLocate(id, out var segment, out _))
                        segment.Delete(id, sequence);
                }

                break;
            case SetPayload set:
            {
                var key = set.Key is null ? null : JsonPath.Parse(set.Key);
                ChangePayload(set.Selector, sequence, current => PayloadOps.Set(current, set.Values, key));
                break;
            }

            case OverwritePayload overwrite:
                ChangePayload(overwrite.Selector, sequence, _ => overwrite.Values);
                break;
            case DeletePayloadKeys deleteKeys:
            {
                var keys = deleteKeys.Keys.Select(k => JsonPath.Parse(k)).ToArray();
                ChangePayload(deleteKeys.Selector, sequence, current => PayloadOps.DeleteKeys(current, keys));
                break;
            }

            case ClearPayload clear:
                ChangePayload(clear.Selector, sequence, _ => Payload.Empty);
                break;
            case UpdateVectors update:
                foreach (var p in update.Points)
                {
                    if (!_set.TryLocate(p.Id, out var segment, out var offset) || segment.VersionAt(offset) >= sequence)
                        continue;
                    if (!segment.IsSealed)
                    {
                        segment.UpdateVectors(p.Id, sequence, p.Vectors);
                        continue;
                    }

                    var vectors = VectorsOf(segment, offset).Where(v => !p.Vectors.Any(n => n.Name == v.Name)).Concat(p.Vectors).ToArray();
                    Move(segment, p.Id, sequence, vectors, segment.PayloadAt(offset));
                }

                break;
            case DeleteVectors deleteVectors:
                foreach (var id in Resolve(deleteVectors.Selector))
                {
                    if (!_set.TryLocate(id, out var segment, out var offset) || segment.VersionAt(offset) >= sequence)
                        continue;
                    if (!segment.IsSealed)
                    {
                        segment.DeleteVectors(id, sequence, deleteVectors.VectorNames);
                        continue;
                    }

                    var kept = VectorsOf(segment, offset).Where(v => !deleteVectors.VectorNames.Contains(v.Name)).ToArray();
                    Move(segment, id, sequence, kept, segment.PayloadAt(offset));
                }

                break;
            case CreateFieldIndex create:
            {
                using var doc = JsonDocument.Parse(create.SchemaJson);
                foreach (var segment in _set.Segments)
                    segment.Indexes.Create(create.FieldName, doc.RootElement, segment);
                break;
            }

            case DeleteFieldIndex drop:
                foreach (var segment in _set.Segments)
                    segment.Indexes.Drop(drop.FieldName);
                break;
            default:
                throw new InvalidOperationException($"unknown operation {operation.GetType().Name}");
        }
    }

    private void ChangePayload(PointSelector selector, ulong sequence, Func<Payload, Payload> change)
    {
        foreach (var id in Resolve(selector))
        {
            if (!_set.TryLocate(id, out var segment, out var offset) || segment.VersionAt(offset) >= sequence)
                continue;
            var payload = change(segment.PayloadAt(offset));
            if (segment.IsSealed)
                Move(segment, id, sequence, VectorsOf(segment, offset), payload);
            else
                segment.SetPayload(id, sequence, payload);
        }
    }

    private void Move(PointSegment from, PointId id, ulong sequence, IReadOnlyList<NamedVector> vectors, Payload payload)
    {
        _set.Appendable.CheckVectors(vectors);
        from.Delete(id, sequence);
        _set.Appendable.Upsert(id, sequence, vectors, payload);
    }

    private static NamedVector[] VectorsOf(PointSegment segment, int offset)
    {
        var result = new List<NamedVector>(segment.Spaces.Count);
        for (var s = 0; s < segment.Spaces.Count; s++)
        {
            if (segment.HasVector(offset, s))
                result.Add(new NamedVector(segment.Spaces[s].Name, segment.VectorAt(offset, s).ToArray()));
        }

        foreach (var name in segment.SparseNames)
        {
            if (segment.SparseAt(offset, name) is { } sparse)
                result.Add(NamedVector.OfSparse(name, sparse));
        }

        foreach (var name in segment.MultiNames)
        {
            if (segment.MultiAt(offset, name) is { } multi)
                result.Add(NamedVector.OfMulti(name, multi));
        }

        return [.. result];
    }

    private IReadOnlyList<PointId> Resolve(PointSelector selector)
    {
        if (selector.Ids is { } ids)
            return ids;
        using var doc = JsonDocument.Parse(selector.Filter!.Json);
        var filter = FilterParser.Parse(doc.RootElement);
        return _set.Select(filter);
    }
}
