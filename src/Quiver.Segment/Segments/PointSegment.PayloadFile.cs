using Quiver.Segment.Payloads;

namespace Quiver.Segment.Segments;

public sealed partial class PointSegment
{
    private MappedPayloads? _payloadFile;

    /// <summary>Whether the payloads are read from the points file (on_disk_payload) rather than held in memory.</summary>
    public bool PayloadsMapped => _payloadFile is not null;

    /// <summary>Bytes of the points file mapped for payloads: on disk, paged in by the OS as payloads are read.</summary>
    public long MappedPayloadBytes => _payloadFile?.MappedBytes ?? 0;

    /// <summary>
    /// Leaves a sealed segment's payloads in the file <paramref name="payloads"/> maps, which must hold one for each
    /// row, the same as the segment's (it was written from or loaded from this segment). Empty payloads stay shared
    /// in memory: they cost nothing and need no read. A serving segment's caller excludes readers (the shard's write
    /// lock).
    /// </summary>
    public void MapPayloads(MappedPayloads payloads)
    {
        ArgumentNullException.ThrowIfNull(payloads);
        ThrowIfNotSealed();
        if (payloads.Count != _used)
            throw new ArgumentException($"{payloads.Path}: holds payloads for {payloads.Count} rows, the segment has {_used}", nameof(payloads));
        _payloadFile = payloads;
        for (var offset = 0; offset < _used; offset++)
            _payloads[offset] = payloads.IsEmptyAt(offset) ? Payload.Empty : null;
    }

    /// <summary>
    /// The payloads a mapped segment would hold in memory, read while it serves (no lock: a sealed segment's
    /// payloads never change), for <see cref="HoldPayloads"/>. Null entries need no read.
    /// </summary>
    public Payload?[] ReadMappedPayloads(CancellationToken cancellationToken = default)
    {
        var file = _payloadFile ?? throw new InvalidOperationException("the segment's payloads are in memory already");
        var read = new Payload?[_used];
        for (var offset = 0; offset < _used; offset++)
        {
            if ((offset & 4095) == 0)
                cancellationToken.ThrowIfCancellationRequested();
            if (_live[offset] && _payloads[offset] is null)
                read[offset] = file.Read(offset);
        }

        return read;
    }

    /// <summary>
    /// Takes a mapped segment's payloads back into memory from <paramref name="read"/> (see
    /// <see cref="ReadMappedPayloads"/>) and lets the file go. The caller excludes readers (the shard's write lock).
    /// </summary>
    public void HoldPayloads(Payload?[] read)
    {
        ArgumentNullException.ThrowIfNull(read);
        var file = _payloadFile ?? throw new InvalidOperationException("the segment's payloads are in memory already");
        for (var offset = 0; offset < _used; offset++)
        {
            // A row deleted before the read is never asked for its payload again (a sealed row never comes back).
            if (_payloads[offset] is null)
                _payloads[offset] = (offset < read.Length ? read[offset] : null) ?? (_live[offset] ? file.Read(offset) : Payload.Empty);
        }

        _payloadFile = null;
    }

    private Payload ReadMappedPayload(int offset) => _payloadFile is { } file
        ? file.Read(offset)
        : throw new InvalidOperationException($"row {offset} has no payload");
}
