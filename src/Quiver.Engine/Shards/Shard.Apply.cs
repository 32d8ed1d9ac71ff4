using System.Text.Json;
using Quiver.Engine.Operations;
using Quiver.Segment.Filtering;
using Quiver.Segment.Payloads;
using Quiver.Segment.Points;

namespace Quiver.Engine.Shards;

internal sealed partial class Shard
{
    // Called with the write lock held, in log order.
    private void Apply(ulong sequence, PointOperation operation)
    {
        switch (operation)
        {
            case UpsertPoints upsert:
                foreach (var p in upsert.Points)
                    _segment.Upsert(p.Id, sequence, p.Vectors, p.Payload);
                break;
            case DeletePoints delete:
                foreach (var id in Resolve(delete.Selector))
                    _segment.Delete(id, sequence);
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
                    _segment.UpdateVectors(p.Id, sequence, p.Vectors);
                break;
            case DeleteVectors deleteVectors:
                foreach (var id in Resolve(deleteVectors.Selector))
                    _segment.DeleteVectors(id, sequence, deleteVectors.VectorNames);
                break;
            case CreateFieldIndex create:
            {
                using var doc = JsonDocument.Parse(create.SchemaJson);
                _segment.Indexes.Create(create.FieldName, doc.RootElement, _segment);
                break;
            }

            case DeleteFieldIndex drop:
                _segment.Indexes.Drop(drop.FieldName);
                break;
            default:
                throw new InvalidOperationException($"unknown operation {operation.GetType().Name}");
        }
    }

    private void ChangePayload(PointSelector selector, ulong sequence, Func<Payload, Payload> change)
    {
        foreach (var id in Resolve(selector))
        {
            if (_segment.TryGetOffset(id, out var offset))
                _segment.SetPayload(id, sequence, change(_segment.PayloadAt(offset)));
        }
    }

    private IReadOnlyList<PointId> Resolve(PointSelector selector)
    {
        if (selector.Ids is { } ids)
            return ids;
        using var doc = JsonDocument.Parse(selector.Filter!.Json);
        var filter = FilterParser.Parse(doc.RootElement);
        return _segment.Select(filter);
    }
}
