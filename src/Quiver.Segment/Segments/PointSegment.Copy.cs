using Quiver.Segment.Payloads;
using Quiver.Segment.Points;

namespace Quiver.Segment.Segments;

public sealed partial class PointSegment
{
    /// <summary>
    /// A compacted copy of the given offsets of sealed segments (ids, versions, payloads, vectors), in that order,
    /// sealed: offset i of the copy is the i-th listed point. Reads only rows a sealed segment never changes, so it
    /// runs without the shard's lock. Payload indexes are not copied; the caller creates them.
    /// </summary>
    /// <remarks>
    /// The spaces <paramref name="rowsElsewhere"/> flags get no rows: the caller writes them to a vector file and
    /// hands it to <see cref="AdoptVectors"/> (a segment larger than memory is never copied into it).
    /// </remarks>
    public static PointSegment CopyOf(IReadOnlyList<(PointSegment Source, int[] Offsets)> parts, CancellationToken cancellationToken = default, IReadOnlyList<bool>? rowsElsewhere = null)
    {
        var total = parts.Sum(p => p.Offsets.Length);
        var copy = new PointSegment(parts[0].Source.Spaces, Math.Max(1, total), rowsElsewhere);
        var vectors = new List<NamedVector>(copy.Spaces.Count);
        foreach (var (source, offsets) in parts)
        {
            if (!source.IsSealed)
                throw new InvalidOperationException("copy sealed segments only");
            foreach (var offset in offsets)
            {
                if ((copy._used & 4095) == 0)
                    cancellationToken.ThrowIfCancellationRequested();
                vectors.Clear();
                for (var s = 0; s < source._stores.Length; s++)
                {
                    if (rowsElsewhere?[s] != true && source._stores[s].IsPresent(offset))
                        vectors.Add(new NamedVector(source.Spaces[s].Name, source._stores[s].Get(offset).ToArray()));
                }

                foreach (var (name, rows) in source._sparse)
                {
                    if (rows.Get(offset) is { } sparse)
                        vectors.Add(NamedVector.OfSparse(name, sparse));
                }

                foreach (var name in source._multi.Keys)
                {
                    if (source.MultiAt(offset, name) is { } multi)
                        vectors.Add(NamedVector.OfMulti(name, multi));
                }

                // A point deleted from the source meanwhile is copied anyway (the rows are intact) and deleted
                // again when the copy is swapped in; the ids stay distinct because a point lives in one segment.
                copy.AppendCopy(source._ids[offset], source._versions[offset], vectors, source.PayloadAt(offset));
            }
        }

        copy.IsSealed = true;
        return copy;
    }

    private void AppendCopy(PointId id, ulong version, List<NamedVector> vectors, Payload payload)
    {
        var offset = Allocate(id);
        SetVectors(offset, vectors);
        _versions[offset] = version;
        _payloads[offset] = payload;
    }

    private void SetVectors(int offset, IReadOnlyList<NamedVector> vectors)
    {
        foreach (var v in vectors)
        {
            if (v.Sparse is { } sparse)
                SetSparse(offset, v.Name, sparse);
            else if (v.Multi is { } multi)
                SetMulti(offset, v.Name, multi);
            else
                _stores[_storeByName[v.Name]].Set(offset, v.Values);
        }
    }
}
