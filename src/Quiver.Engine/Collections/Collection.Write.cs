using System.Text.Json;
using Quiver.Engine.Operations;
using Quiver.Engine.Query;
using Quiver.Segment.Errors;
using Quiver.Segment.Filtering;
using Quiver.Segment.PayloadIndex;
using Quiver.Segment.Payloads;
using Quiver.Segment.Points;

namespace Quiver.Engine.Collections;

public sealed partial class Collection
{
    /// <summary>Validates, logs and applies one operation.</summary>
    public async ValueTask<UpdateResult> ApplyAsync(PointOperation operation, bool wait, CancellationToken cancellationToken, WriteReceipt? receipt = null)
    {
        var results = await ApplyBatchAsync([operation], wait, cancellationToken, receipt).ConfigureAwait(false);
        return results[0];
    }

    /// <summary>
    /// Validates every operation first, then logs and applies them in order. Nothing is logged when any
    /// operation is invalid. Every operation is logged before any waiting starts, so a request cut short (its
    /// timeout, the client going away) while it waits for visibility never leaves a batch half logged.
    /// </summary>
    public async ValueTask<IReadOnlyList<UpdateResult>> ApplyBatchAsync(IReadOnlyList<PointOperation> operations, bool wait, CancellationToken cancellationToken, WriteReceipt? receipt = null)
    {
        // Points upserted earlier in the batch count as existing for the operations after them.
        var upserted = new HashSet<PointId>();
        var routed = operations.Select(op => Route(Validate(op, upserted))).ToArray();
        // Each shard's parts go to its log in one append (one durability point), in the batch's order.
        var perShard = new List<(int Operation, PointOperation Part)>?[_shardNumber];
        for (var i = 0; i < routed.Length; i++)
        {
            foreach (var (shard, part) in routed[i])
                (perShard[shard] ??= []).Add((i, part));
        }

        var sequences = new ulong[routed.Length];
        var lastPerShard = new ulong[_shardNumber];
        var appends = new List<Task>(_shardNumber);
        for (var s = 0; s < perShard.Length; s++)
        {
            if (perShard[s] is { } parts)
                appends.Add(AppendAsync(s, parts, sequences, lastPerShard));
        }

        await Task.WhenAll(appends).ConfigureAwait(false);
        if (receipt is not null)
        {
            receipt.ShardSequences = lastPerShard;
            receipt.Incarnation = Incarnation;
        }
        var results = new UpdateResult[routed.Length];
        for (var i = 0; i < results.Length; i++)
            results[i] = new UpdateResult(sequences[i], wait);
        if (wait)
        {
            for (var s = 0; s < lastPerShard.Length; s++)
            {
                if (lastPerShard[s] > 0)
                    await WaitAppliedAsync(s, lastPerShard[s], cancellationToken).ConfigureAwait(false);
            }
        }

        return results;
    }

    /// <summary>
    /// Checks each operation as <see cref="ApplyBatchAsync"/> would check the batch, without logging anything:
    /// the refusal of each, or null where it passes. Finds the poison in a batch in one pass.
    /// </summary>
    public QuiverError?[] CheckEach(IReadOnlyList<PointOperation> operations)
    {
        var upserted = new HashSet<PointId>();
        var errors = new QuiverError?[operations.Count];
        for (var i = 0; i < errors.Length; i++)
        {
            try
            {
                Validate(operations[i], upserted);
            }
            catch (QuiverException ex)
            {
                errors[i] = ex.Error;
            }
        }

        return errors;
    }

    /// <summary>Waits until every operation logged so far is applied and visible.</summary>
    public async ValueTask CatchUpAsync(CancellationToken cancellationToken)
    {
        foreach (var shard in ReadShards)
            await shard.WaitAppliedAsync(shard.DurableSequence, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Logs one shard's parts of a batch (not cancellable: once a request reached the logs it is written in full).
    /// An operation's id is the log sequence of its last part; with one shard (the default) it is exact.
    /// </summary>
    private async Task AppendAsync(int shard, List<(int Operation, PointOperation Part)> parts, ulong[] sequences, ulong[] lastPerShard)
    {
        var last = await SubmitAsync(shard, [.. parts.Select(p => p.Part)]).ConfigureAwait(false);
        for (var j = 0; j < parts.Count; j++)
        {
            // Exact on a single node (one writer: contiguous sequences); in cluster mode another node's records may
            // fall between a batch's, and only the last part's sequence is exact.
            var sequence = last - (ulong)(parts.Count - 1 - j);
            lock (sequences)
                sequences[parts[j].Operation] = Math.Max(sequences[parts[j].Operation], sequence);
        }

        lastPerShard[shard] = last;
    }

    private PointOperation Validate(PointOperation operation, HashSet<PointId> upsertedInBatch)
    {
        switch (operation)
        {
            case UpsertPoints upsert:
            {
                foreach (var p in upsert.Points)
                    upsertedInBatch.Add(p.Id);
                var points = new PointWrite[upsert.Points.Count];
                for (var i = 0; i < points.Length; i++)
                {
                    var p = upsert.Points[i];
                    if (Config.HasUnnamedVector && !p.Vectors.Any(v => v.Name.Length == 0))
                        throw QuiverException.BadInput($"points[{i}].vector: missing; the collection's vector has {Config.VectorSpaces[0].Dimension} dimensions");
                    points[i] = p with { Vectors = PrepareAll(p.Vectors, $"points[{i}].vector") };
                }

                return new UpsertPoints(points);
            }

            case UpdateVectors update:
            {
                var points = new PointVectors[update.Points.Count];
                for (var i = 0; i < points.Length; i++)
                {
                    var p = update.Points[i];
                    if (p.Vectors.Count == 0)
                        throw QuiverException.BadInput($"points[{i}].vector: at least one vector is required");
                    points[i] = p with { Vectors = PrepareAll(p.Vectors, $"points[{i}].vector") };
                }

                RequireExisting(points.Select(p => p.Id), upsertedInBatch);
                return new UpdateVectors(points);
            }

            case DeleteVectors deleteVectors:
                foreach (var name in deleteVectors.VectorNames)
                {
                    if (Config.FindSpace(name) is null && Config.FindSparse(name) is null && Config.FindMulti(name) is null)
                        throw MissingVectorName(name);
                }

                ValidateSelector(deleteVectors.Selector, upsertedInBatch);
                return operation;
            case DeletePoints d:
                // Deleting ids that do not exist is not an error (as in Qdrant).
                ValidateSelector(d.Selector, null);
                return operation;
            case SetPayload s:
                if (s.Key is not null)
                    JsonPath.Parse(s.Key);
                ValidateSelector(s.Selector, upsertedInBatch);
                return operation;
            case OverwritePayload o:
                ValidateSelector(o.Selector, upsertedInBatch);
                return operation;
            case DeletePayloadKeys k:
                foreach (var key in k.Keys)
                    JsonPath.Parse(key);
                ValidateSelector(k.Selector, upsertedInBatch);
                return operation;
            case ClearPayload c:
                ValidateSelector(c.Selector, upsertedInBatch);
                return operation;
            case CreateFieldIndex ci:
            {
                JsonPath.Parse(ci.FieldName);
                using var doc = JsonDocument.Parse(ci.SchemaJson);
                PayloadSchemaParser.Parse(doc.RootElement);
                return operation;
            }

            case DeleteFieldIndex:
                return operation;
            default:
                throw new ArgumentException($"unknown operation {operation.GetType().Name}", nameof(operation));
        }
    }

    private NamedVector[] PrepareAll(IReadOnlyList<NamedVector> vectors, string field)
    {
        var result = new NamedVector[vectors.Count];
        for (var i = 0; i < result.Length; i++)
            result[i] = Prepare(vectors[i], vectors[i].Name.Length == 0 ? field : $"{field}.{vectors[i].Name}");
        return result;
    }

    /// <summary>
    /// Parses a selector's filter; with <paramref name="mustExist"/>, every listed id must exist (or be upserted
    /// earlier in the same batch), as Qdrant answers 404 rather than half-applying an update.
    /// </summary>
    private void ValidateSelector(PointSelector selector, HashSet<PointId>? mustExist)
    {
        if (selector.Filter is { } filter)
        {
            using var doc = JsonDocument.Parse(filter.Json);
            FilterParser.Parse(doc.RootElement);
        }
        else if (mustExist is not null)
        {
            RequireExisting(selector.Ids!, mustExist);
        }
    }

    private void RequireExisting(IEnumerable<PointId> ids, HashSet<PointId> upsertedInBatch)
    {
        foreach (var id in ids)
        {
            if (!upsertedInBatch.Contains(id) && !Exists(id))
                throw QuiverException.NotFound($"No point with id {id} found");
        }
    }

    /// <summary>
    /// Whether the point exists. In cluster mode a point of a shard held elsewhere counts as existing: an update of a
    /// missing point is then a no-op when the replicas apply it, rather than a 404 here.
    /// </summary>
    private bool Exists(PointId id) =>
        HostedReplica(ShardOf(id)) is { } replica ? replica.Read(set => set.TryLocate(id, out _, out _)) : _cluster is not null;

    /// <summary>Splits an operation into per-shard parts; filter-selected and index operations go to every shard.</summary>
    private (int Shard, PointOperation Operation)[] Route(PointOperation operation) => OperationRouting.Split(operation, _shardNumber);
}
