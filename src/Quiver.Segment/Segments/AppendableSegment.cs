using Quiver.Segment.Payloads;
using Quiver.Segment.Points;

namespace Quiver.Segment.Segments;

/// <summary>
/// A mutable segment: points addressed by a dense internal offset, their versions, payloads and one
/// <see cref="DenseVectorStore"/> per vector space. Searched exactly (a full or candidate-restricted scan).
/// Not thread-safe: the owning shard serialises writers and excludes them while readers run.
/// </summary>
public sealed partial class AppendableSegment
{
    private readonly Dictionary<PointId, int> _offsets = [];
    private readonly DenseVectorStore[] _stores;
    private readonly Dictionary<string, int> _storeByName = new(StringComparer.Ordinal);
    private readonly Stack<int> _freeOffsets = new();
    private PointId[] _ids;
    private ulong[] _versions;
    private Payload[] _payloads;
    private bool[] _live;
    private int _used;
    private PointId[]? _sortedIds;

    public AppendableSegment(IReadOnlyList<SegmentVectorSpace> spaces, int initialCapacity = 1024)
    {
        Spaces = spaces;
        _stores = new DenseVectorStore[spaces.Count];
        for (var i = 0; i < spaces.Count; i++)
        {
            _stores[i] = new DenseVectorStore(spaces[i].Name, spaces[i].Dimension, initialCapacity);
            _storeByName[spaces[i].Name] = i;
        }

        _ids = new PointId[initialCapacity];
        _versions = new ulong[initialCapacity];
        _payloads = new Payload[initialCapacity];
        _live = new bool[initialCapacity];
        Indexes = new SegmentPayloadIndexes();
    }

    public IReadOnlyList<SegmentVectorSpace> Spaces { get; }

    public int LiveCount => _offsets.Count;

    /// <summary>The payload indexes kept in step with every payload change.</summary>
    public SegmentPayloadIndexes Indexes { get; }

    /// <summary>Number of points that have a vector in each space, by space position.</summary>
    public int VectorCount(int space) => _stores[space].PresentCount;

    public int SpaceIndex(string name) => _storeByName.TryGetValue(name, out var i) ? i : -1;

    public bool TryGetOffset(PointId id, out int offset) => _offsets.TryGetValue(id, out offset);

    public PointId IdAt(int offset) => _ids[offset];

    public ulong VersionAt(int offset) => _versions[offset];

    public Payload PayloadAt(int offset) => _payloads[offset];

    public bool HasVector(int offset, int space) => _stores[space].IsPresent(offset);

    public ReadOnlySpan<float> VectorAt(int offset, int space) => _stores[space].Get(offset);

    /// <summary>Offsets of live points, in internal order.</summary>
    public IEnumerable<int> LiveOffsets()
    {
        for (var i = 0; i < _used; i++)
        {
            if (_live[i])
                yield return i;
        }
    }

    /// <summary>Live point ids in ascending id order; cached until the next insert or delete.</summary>
    public PointId[] SortedIds()
    {
        var sorted = _sortedIds;
        if (sorted is not null)
            return sorted;
        sorted = new PointId[_offsets.Count];
        _offsets.Keys.CopyTo(sorted, 0);
        Array.Sort(sorted);
        _sortedIds = sorted;
        return sorted;
    }

    /// <summary>Inserts or replaces a point. Returns false when <paramref name="version"/> is not newer than the point's.</summary>
    public bool Upsert(PointId id, ulong version, IReadOnlyList<NamedVector> vectors, Payload payload)
    {
        ArgumentNullException.ThrowIfNull(payload);
        CheckVectors(vectors);
        if (_offsets.TryGetValue(id, out var offset))
        {
            if (_versions[offset] >= version)
                return false;
            Indexes.Remove(offset, _payloads[offset]);
            foreach (var store in _stores)
                store.Remove(offset);
        }
        else
        {
            offset = Allocate(id);
        }

        foreach (var v in vectors)
            _stores[_storeByName[v.Name]].Set(offset, v.Values);
        _versions[offset] = version;
        _payloads[offset] = payload;
        Indexes.Add(offset, payload);
        return true;
    }

    public bool Delete(PointId id, ulong version)
    {
        if (!_offsets.TryGetValue(id, out var offset) || _versions[offset] >= version)
            return false;
        Indexes.Remove(offset, _payloads[offset]);
        foreach (var store in _stores)
            store.Remove(offset);
        _offsets.Remove(id);
        _live[offset] = false;
        _payloads[offset] = Payload.Empty;
        _freeOffsets.Push(offset);
        _sortedIds = null;
        return true;
    }

    public bool SetPayload(PointId id, ulong version, Payload payload)
    {
        ArgumentNullException.ThrowIfNull(payload);
        if (!_offsets.TryGetValue(id, out var offset) || _versions[offset] >= version)
            return false;
        Indexes.Remove(offset, _payloads[offset]);
        _payloads[offset] = payload;
        Indexes.Add(offset, payload);
        _versions[offset] = version;
        return true;
    }

    public bool UpdateVectors(PointId id, ulong version, IReadOnlyList<NamedVector> vectors)
    {
        CheckVectors(vectors);
        if (!_offsets.TryGetValue(id, out var offset) || _versions[offset] >= version)
            return false;
        foreach (var v in vectors)
            _stores[_storeByName[v.Name]].Set(offset, v.Values);
        _versions[offset] = version;
        return true;
    }

    public bool DeleteVectors(PointId id, ulong version, IReadOnlyList<string> names)
    {
        if (!_offsets.TryGetValue(id, out var offset) || _versions[offset] >= version)
            return false;
        foreach (var name in names)
        {
            if (_storeByName.TryGetValue(name, out var s))
                _stores[s].Remove(offset);
        }

        _versions[offset] = version;
        return true;
    }

    // Checked before any mutation, so a bad operation changes nothing rather than leaving half a point.
    private void CheckVectors(IReadOnlyList<NamedVector> vectors)
    {
        foreach (var v in vectors)
        {
            if (!_storeByName.TryGetValue(v.Name, out var s))
                throw new ArgumentException($"segment has no vector space '{v.Name}'", nameof(vectors));
            if (v.Values.Length != _stores[s].Dimension)
                throw new ArgumentException($"vector '{v.Name}' has {v.Values.Length} dimensions, the space has {_stores[s].Dimension}", nameof(vectors));
        }
    }

    private int Allocate(PointId id)
    {
        _sortedIds = null;
        if (!_freeOffsets.TryPop(out var offset))
        {
            offset = _used++;
            if (offset == _ids.Length)
            {
                var size = _ids.Length * 2;
                Array.Resize(ref _ids, size);
                Array.Resize(ref _versions, size);
                Array.Resize(ref _payloads, size);
                Array.Resize(ref _live, size);
            }
        }

        _ids[offset] = id;
        _live[offset] = true;
        _offsets[id] = offset;
        return offset;
    }
}
