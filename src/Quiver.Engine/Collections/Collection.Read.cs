using Quiver.Engine.Operations;
using Quiver.Engine.Query;
using Quiver.Engine.Shards;
using Quiver.Segment.Errors;
using Quiver.Segment.Points;
using Quiver.Segment.Segments;

namespace Quiver.Engine.Collections;

public sealed partial class Collection
{
    public const int MaxLimit = 100_000;

    public IReadOnlyList<PointRecord> Get(IReadOnlyList<PointId> ids, WithPayload withPayload, WithVector withVector)
    {
        var result = new List<PointRecord>(ids.Count);
        var seen = new HashSet<PointId>();
        foreach (var id in ids)
        {
            // Qdrant returns each requested point once, in request order, skipping missing ones.
            if (!seen.Add(id))
                continue;
            var record = ReadReplica(ShardOf(id))?.Read(set =>
                set.TryLocate(id, out var segment, out var offset) ? Materialize(segment, offset, withPayload, withVector) : null);
            if (record is not null)
                result.Add(record);
        }

        return result;
    }

    public long Count(Segment.Filtering.Filter? filter)
    {
        long total = 0;
        foreach (var shard in ReadShards)
            total += shard.Read(set => set.Count(filter));
        return total;
    }

    public ScrollResult Scroll(ScrollRequest request)
    {
        if (request.Limit < 1 || request.Limit > MaxLimit)
            throw QuiverException.BadInput($"limit: expected an integer from 1 to {MaxLimit}");
        if (request.OrderBy is { } orderBy)
            return ScrollOrdered(request, orderBy);

        // Each shard returns its first limit+1 ids from the offset in id order; the merge keeps the global first.
        var candidates = new List<(PointId Id, Shard Shard)>();
        foreach (var shard in ReadShards)
        {
            foreach (var id in shard.Read(set => set.ScrollIds(request.Filter, request.Offset, request.Limit + 1)))
                candidates.Add((id, shard));
        }

        candidates.Sort((a, b) => a.Id.CompareTo(b.Id));
        var take = Math.Min(request.Limit, candidates.Count);
        var points = new List<PointRecord>(take);
        for (var i = 0; i < take; i++)
        {
            var (id, shard) = candidates[i];
            var record = shard.Read(set =>
                set.TryLocate(id, out var segment, out var offset) ? Materialize(segment, offset, request.WithPayload, request.WithVector) : null);
            if (record is not null)
                points.Add(record);
        }

        PointId? next = candidates.Count > request.Limit ? candidates[request.Limit].Id : null;
        return new ScrollResult(points, next);
    }

    private ScrollResult ScrollOrdered(ScrollRequest request, OrderBy orderBy)
    {
        var merged = new List<PointRecord>();
        foreach (var shard in ReadShards)
        {
            merged.AddRange(shard.Read(set =>
            {
                var rows = set.ScrollOrdered(request.Filter, orderBy.Key, orderBy.Descending, orderBy.StartFrom, request.Limit)
                    ?? throw QuiverException.BadInput(
                        $"Bad request: No range index for `order_by` key: `{orderBy.Key}`. Please create one to use `order_by`. Check https://qdrant.tech/documentation/concepts/indexing/#payload-index to see which payload schemas support Range conditions");
                return rows.Select(r => Materialize(r.Segment, r.Offset, request.WithPayload, request.WithVector) with { OrderValue = r.Value }).ToList();
            }));
        }

        var ordered = orderBy.Descending
            ? merged.OrderByDescending(r => r.OrderValue).ThenBy(r => r.Id)
            : merged.OrderBy(r => r.OrderValue).ThenBy(r => r.Id);

        // Qdrant does not paginate order_by scrolls by offset: next_page_offset is always null.
        return new ScrollResult(ordered.Take(request.Limit).ToList(), null);
    }

    public CollectionStats Stats()
    {
        long points = 0, indexed = 0, walBytes = 0;
        var segments = 0;
        var optimizing = false;
        var pending = false;
        var schemas = new List<IReadOnlyList<PayloadFieldInfo>>(ReadShards.Length);
        foreach (var shard in ReadShards)
        {
            var (p, i, n, fields) = shard.Read(set => (set.LiveCount, set.IndexedVectorCount, set.Segments.Length, set.Describe()));
            points += p;
            indexed += i;
            segments += n;
            walBytes += shard.WalBytes;
            var status = shard.OptimizerStatus;
            optimizing |= status.Running;
            pending |= status.Pending;
            schemas.Add(fields);
        }

        return new CollectionStats(points, indexed, segments, walBytes, optimizing, pending, PayloadFieldInfo.Sum(schemas));
    }

    /// <summary>Every segment's memory by component and disk bytes, shard by shard (for telemetry; walks every point).</summary>
    public IReadOnlyList<SegmentFootprint> Footprint()
    {
        var set = _set;
        return [.. set.Reading.SelectMany((shard, i) => shard.Footprint(set.ReadingIds[i]))];
    }

    /// <summary>Bytes held in memory by vectors, graphs, sketches and quantized codes, over every shard and segment.</summary>
    public CollectionMemory Memory()
    {
        long vectors = 0, graphs = 0, sketches = 0, codes = 0, mapped = 0, mappedPayloads = 0;
        foreach (var shard in ReadShards)
        {
            var (v, g, k, c, m, p) = shard.Read(set => (set.Segments.Sum(s => s.VectorBytes), set.Segments.Sum(s => s.GraphBytes), set.Segments.Sum(s => s.SketchBytes),
                set.Segments.Sum(s => s.CodeBytes), set.Segments.Sum(s => s.MappedVectorBytes), set.Segments.Sum(s => s.MappedPayloadBytes)));
            vectors += v;
            graphs += g;
            sketches += k;
            codes += c;
            mapped += m;
            mappedPayloads += p;
        }

        return new CollectionMemory(vectors, graphs, sketches, codes, mapped, mappedPayloads);
    }

    /// <summary>
    /// How far the shards are behind their logs: the longest apply queue, and the points the optimizers still
    /// have to index. Ingestion pauses on these rather than queueing without bound.
    /// </summary>
    public WriteBacklog Backlog()
    {
        long apply = 0, unindexed = 0;
        foreach (var shard in ReadShards)
        {
            apply = Math.Max(apply, shard.ApplyBacklog);
            var status = shard.OptimizerStatus;
            if (status.Running || status.Pending)
                unindexed += shard.Read(set => Math.Max(0, set.LiveCount - set.IndexedVectorCount));
        }

        return new WriteBacklog(apply, unindexed);
    }

    /// <summary>The shards held here (all of them on a single node).</summary>
    public int ShardCount => ReadShards.Length;

    /// <summary>The change stream's cursor on a shard; null when the stream is off (<c>ShardOptions.ChangeFeed</c>).</summary>
    public ChangeFeedCursor? ChangeFeedCursor(int shard) => ReadShards[shard].FeedCursor;

    /// <summary>Applied operations the change stream has not published yet, over every shard.</summary>
    public long ChangeFeedBacklog() =>
        ReadShards.Sum(s => s.FeedCursor is { } c ? (long)(s.AppliedSequence - Math.Min(c.Published, s.AppliedSequence)) : 0);

    /// <summary>Records durably that the change stream published a shard's operations up to <paramref name="published"/>.</summary>
    public void AdvanceChangeFeed(int shard, ulong published) => ReadShards[shard].AdvanceChangeFeed(published);

    /// <summary>Applied operations of a shard after <paramref name="after"/>, in log order, bounded by count and bytes.</summary>
    public IReadOnlyList<(ulong Sequence, PointOperation Operation)> ReadAppliedOperations(int shard, ulong after, int max, long maxBytes) =>
        ReadShards[shard].ReadApplied(after, max, maxBytes);

    /// <summary>Per shard: what its optimizer is doing.</summary>
    public IReadOnlyList<OptimizerProgress> Optimizations()
    {
        var set = _set;
        return [.. set.Reading.Zip(set.ReadingIds, (shard, i) => (i, shard.OptimizerStatus))
            .Where(x => x.OptimizerStatus.Running)
            .Select(x => new OptimizerProgress(x.i, x.OptimizerStatus.Kind!, x.OptimizerStatus.PointsTotal, x.OptimizerStatus.PointsDone, x.OptimizerStatus.StartedAt!.Value))];
    }

    private static PointRecord Materialize(PointSegment segment, int offset, WithPayload withPayload, WithVector withVector)
    {
        var payload = withPayload.Enabled ? PayloadProjection.Apply(segment.PayloadAt(offset), withPayload) : null;
        List<NamedVector>? vectors = null;
        if (withVector.Enabled)
        {
            vectors = [];
            for (var s = 0; s < segment.Spaces.Count; s++)
            {
                var name = segment.Spaces[s].Name;
                if (withVector.Includes(name) && segment.HasVector(offset, s))
                    vectors.Add(new NamedVector(name, segment.VectorAt(offset, s).ToArray()));
            }

            foreach (var name in segment.SparseNames)
            {
                if (withVector.Includes(name) && segment.SparseAt(offset, name) is { } sparse)
                    vectors.Add(NamedVector.OfSparse(name, sparse));
            }

            foreach (var name in segment.MultiNames)
            {
                if (withVector.Includes(name) && segment.MultiAt(offset, name) is { } multi)
                    vectors.Add(NamedVector.OfMulti(name, multi));
            }
        }

        return new PointRecord(segment.IdAt(offset), payload, vectors);
    }
}

/// <summary>Counts reported in collection info.</summary>
public sealed record CollectionStats(long PointsCount, long IndexedVectorsCount, int SegmentsCount, long WalBytes, bool Optimizing, bool OptimizationPending, IReadOnlyList<PayloadFieldInfo> PayloadSchema);

/// <summary>Resident bytes of a collection's vectors, graphs and projection sketches.</summary>
/// <summary>Operations logged but not applied (largest per shard), and points waiting for the optimizer.</summary>
public readonly record struct WriteBacklog(long ApplyOperations, long UnindexedPoints);

/// <summary>
/// A collection's memory by component. <paramref name="MappedVectorBytes"/>: vectors left in their files and mapped
/// (on_disk), which the OS pages in and out; <paramref name="MappedPayloadBytes"/>: the points files mapped for
/// payloads left there (on_disk_payload). Neither is part of <see cref="TotalBytes"/>.
/// </summary>
public sealed record CollectionMemory(long VectorBytes, long GraphBytes, long SketchBytes, long CodeBytes = 0, long MappedVectorBytes = 0, long MappedPayloadBytes = 0)
{
    public long TotalBytes => VectorBytes + GraphBytes + SketchBytes + CodeBytes;
}

/// <summary>An optimization running on a shard.</summary>
public sealed record OptimizerProgress(int Shard, string Kind, long PointsTotal, long PointsDone, DateTimeOffset StartedAt);
