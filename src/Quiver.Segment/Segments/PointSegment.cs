using System.Runtime.CompilerServices;
using Quiver.Index;
using Quiver.Index.Hnsw;
using Quiver.Index.Quantization;
using Quiver.Index.Sketch;
using Quiver.Segment.Payloads;
using Quiver.Segment.Points;

namespace Quiver.Segment.Segments;

/// <summary>
/// A segment: points addressed by a dense internal offset, their versions, payloads and one
/// <see cref="DenseVectorStore"/> per vector space, plus payload indexes and, once indexed, an HNSW graph per space.
/// A segment starts appendable (takes every kind of write, searched exactly). Sealing freezes its data: from then on
/// it only accepts deletes, which flip flags and never touch the stored rows, so an optimizer can read the rows
/// without a lock while it builds the indexed copy. Not thread-safe otherwise: the owning shard serialises
/// writers and excludes them while readers run.
/// </summary>
public sealed partial class PointSegment
{
    /// <summary>Slots a new segment starts with when no count is known.</summary>
    private const int DefaultCapacity = 1024;

    private readonly Dictionary<PointId, int> _offsets = [];
    private readonly DenseVectorStore[] _stores;
    private readonly HnswGraph?[] _graphs;
    private readonly ProjectionSketch?[] _sketches;
    private readonly QuantizedCodes?[] _codes;
    private readonly PayloadGraphSet?[] _payloadGraphs;
    private readonly Dictionary<string, int> _storeByName = new(StringComparer.Ordinal);
    private readonly Stack<int> _freeOffsets = new();
    private PointId[] _ids;
    private ulong[] _versions;
    private Payload?[] _payloads;
    private bool[] _live;
    private int _used;
    private PointId[]? _sortedIds;
    private bool _appendOnly;

    /// <param name="spaces">The vector spaces.</param>
    /// <param name="initialCapacity">Rows to make room for at once.</param>
    /// <param name="rowsElsewhere">Per space, whether its rows will come from a vector file (no room is made for them).</param>
    public PointSegment(IReadOnlyList<SegmentVectorSpace> spaces, int initialCapacity = DefaultCapacity, IReadOnlyList<bool>? rowsElsewhere = null)
    {
        Spaces = spaces;
        _stores = new DenseVectorStore[spaces.Count];
        _graphs = new HnswGraph?[spaces.Count];
        _sketches = new ProjectionSketch?[spaces.Count];
        _codes = new QuantizedCodes?[spaces.Count];
        _payloadGraphs = new PayloadGraphSet?[spaces.Count];
        for (var i = 0; i < spaces.Count; i++)
        {
            _stores[i] = new DenseVectorStore(spaces[i].Name, spaces[i].Dimension, rowsElsewhere?[i] == true ? 1 : initialCapacity, spaces[i].Datatype);
            _storeByName[spaces[i].Name] = i;
        }

        // Sized up front like the arrays when a count is known (a segment read from disk): a table grown by doubling
        // holds its old and new entries at once (about 7 MB extra at 240,000 points, past a tight memory limit).
        if (initialCapacity > DefaultCapacity)
            _offsets.EnsureCapacity(initialCapacity);
        _ids = new PointId[initialCapacity];
        _versions = new ulong[initialCapacity];
        _payloads = new Payload?[initialCapacity];
        _live = new bool[initialCapacity];
        Indexes = new SegmentPayloadIndexes();
    }

    public IReadOnlyList<SegmentVectorSpace> Spaces { get; }

    /// <summary>True once <see cref="Seal"/> ran: only deletes are accepted from then on.</summary>
    public bool IsSealed { get; private set; }

    /// <summary>Slots ever used; rows [0, UsedSlots) of every vector store are meaningful.</summary>
    public int UsedSlots => _used;

    public int LiveCount => _offsets.Count;

    /// <summary>The payload indexes kept in step with every payload change.</summary>
    public SegmentPayloadIndexes Indexes { get; }

    /// <summary>The HNSW graph of a space, once the segment is indexed.</summary>
    public HnswGraph? Graph(int space) => _graphs[space];

    /// <summary>
    /// True once the segment takes writes as appends only (<see cref="MakeAppendOnly"/>): no stored row changes
    /// after it is written but for being marked deleted, so graph extensions and snapshots read rows without the
    /// shard's lock, and a flush writes only the rows added since the last one.
    /// </summary>
    public bool IsAppendOnly => _appendOnly;

    /// <summary>True once the segment indexes its rows as they arrive (<c>StartLiveIndexing</c>).</summary>
    public bool IsLiveIndexed => _appendOnly && Array.Exists(_graphs, g => g is not null);

    /// <summary>
    /// Switches to append-only writes: an upsert, vector or payload change of a stored point moves it to a new row
    /// (the old row is marked deleted), and freed rows are not reused.
    /// </summary>
    public void MakeAppendOnly()
    {
        ThrowIfSealed();
        _appendOnly = true;
        _freeOffsets.Clear();
    }

    /// <summary>
    /// Gives every space an appendable graph with room for <paramref name="capacityRows"/> rows (and makes the
    /// segment append-only): rows are then linked by <c>ExtendGraphs</c> as they arrive. A space with a
    /// graph in <paramref name="linked"/> (written by an earlier run, over a prefix of these rows, with the same M)
    /// resumes from it; the others start empty.
    /// </summary>
    public void StartLiveIndexing(int m, int capacityRows, IReadOnlyList<HnswGraph?>? linked = null) =>
        StartLiveIndexing([.. Enumerable.Repeat(m, _stores.Length)], capacityRows, linked);

    /// <summary>
    /// As <see cref="StartLiveIndexing(int, int, IReadOnlyList{HnswGraph?}?)"/> with each space's own M
    /// (<paramref name="m"/>, in space order); a space whose M is below 2 gets no graph and is searched exactly.
    /// </summary>
    public void StartLiveIndexing(IReadOnlyList<int> m, int capacityRows, IReadOnlyList<HnswGraph?>? linked = null)
    {
        ArgumentNullException.ThrowIfNull(m);
        if (m.Count != _stores.Length)
            throw new ArgumentException($"One M per vector space: {_stores.Length} expected, {m.Count} given.", nameof(m));
        MakeAppendOnly();
        var capacity = Math.Max(capacityRows, _used + 1);
        for (var s = 0; s < _stores.Length; s++)
        {
            if (m[s] < 2)
                continue;
            _graphs[s] = linked?[s] is { } resumed && resumed.M == m[s] && resumed.Dimension == _stores[s].Dimension && resumed.Count <= _used
                && FewDeletedBelow(resumed.Count)
                ? HnswGraph.CreateAppendable(resumed, capacity)
                : HnswGraph.CreateAppendable(_stores[s].Dimension, m[s], capacity);
            _stores[s].Reserve(capacity, _used);
        }
    }

    /// <summary>
    /// Whether at most a tenth of rows [0, <paramref name="rows"/>) are deleted. A written graph still routes through
    /// deleted rows, but a restart loads them as zeros (their vectors are not stored): a few such holes barely change
    /// a walk, many would, and then linking again from scratch (which leaves them out) is better.
    /// </summary>
    private bool FewDeletedBelow(int rows)
    {
        var deleted = 0;
        for (var offset = 0; offset < rows; offset++)
        {
            if (!_live[offset])
                deleted++;
        }

        return deleted <= rows / 10;
    }

    /// <summary>
    /// Appends a row as a snapshot stored it, for loading an append-only segment. A live row replaces an earlier
    /// row with the same id (marked deleted); a row stored as deleted is appended deleted and never touches the
    /// id map (its stored id may be stale: a plain segment reuses freed rows). Returns the row's offset.
    /// </summary>
    public int AppendRow(PointId id, ulong version, IReadOnlyList<NamedVector> vectors, Payload payload, bool live = true)
    {
        if (!_appendOnly)
            throw new InvalidOperationException("rows are appended as stored only to an append-only segment");
        CheckVectors(vectors);
        if (!live)
        {
            var dead = AllocateRow();
            _ids[dead] = id;
            _versions[dead] = version;
            _payloads[dead] = Payload.Empty;
            return dead;
        }

        if (_offsets.TryGetValue(id, out var earlier))
            RemoveAt(earlier);
        var offset = Allocate(id);
        WriteRow(offset, version, vectors, payload);
        return offset;
    }

    /// <summary>Rows the live graphs have room for (the smallest; <see cref="int.MaxValue"/> without graphs).</summary>
    public int LiveGraphCapacity
    {
        get
        {
            var capacity = int.MaxValue;
            foreach (var graph in _graphs)
            {
                if (graph is not null)
                    capacity = Math.Min(capacity, graph.Capacity);
            }

            return capacity;
        }
    }

    /// <summary>Rows stored but not linked yet into the graph of the space that lags most (0 when not live).</summary>
    public int UnlinkedRows
    {
        get
        {
            var most = 0;
            for (var s = 0; s < _graphs.Length; s++)
            {
                if (_graphs[s] is { } g)
                    most = Math.Max(most, Math.Min(_used, g.Capacity) - g.Count);
            }

            return most;
        }
    }

    /// <summary>
    /// The rows a graph extension may read without the shard's lock: called under the lock, it returns the row
    /// count and each space's rows as they are now. Rows of a live segment never change once stored, and a store
    /// that grows later copies them, so the returned memory stays valid and complete.
    /// </summary>
    public (int Rows, ReadOnlyMemory<float>[] Vectors) CaptureRows()
    {
        var vectors = new ReadOnlyMemory<float>[_stores.Length];
        for (var s = 0; s < _stores.Length; s++)
            vectors[s] = _stores[s].Rows(_used);
        return (_used, vectors);
    }

    /// <summary>
    /// Each space's rows for a snapshot taken under the shard's lock and written after it: referenced when no write
    /// changes a stored row (sealed or live-indexed segments), copied otherwise.
    /// </summary>
    public ReadOnlyMemory<float>[] SnapshotRows()
    {
        var rows = new ReadOnlyMemory<float>[_stores.Length];
        for (var s = 0; s < rows.Length; s++)
            rows[s] = _stores[s].SnapshotRows(_used, copy: !IsSealed && !_appendOnly);
        return rows;
    }

    /// <summary>Links captured rows into the live graphs (one caller at a time; searches may run meanwhile).</summary>
    public void ExtendGraphs(int rows, ReadOnlyMemory<float>[] vectors, HnswBuildOptions options, IProgress<int>? progress, CancellationToken cancellationToken) =>
        ExtendGraphs(rows, vectors, [.. Enumerable.Repeat(options, _graphs.Length)], progress, cancellationToken);

    /// <summary>As the single-options overload, with each space's own build options (in space order).</summary>
    public void ExtendGraphs(int rows, ReadOnlyMemory<float>[] vectors, IReadOnlyList<HnswBuildOptions> options, IProgress<int>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        for (var s = 0; s < _graphs.Length; s++)
        {
            if (_graphs[s] is not { } graph)
                continue;
            // Read without the lock: a row deleted meanwhile is linked anyway (and filtered out by searches).
            var store = _stores[s];
            bool Include(int row) => _live[row] && store.IsPresent(row);
            _ = Spaces[s].Metric switch
            {
                VectorMetric.Dot => graph.Extend<Kernels.DotKernel>(vectors[s], rows, options[s], progress, cancellationToken, Include),
                VectorMetric.NegSquaredL2 => graph.Extend<Kernels.NegSquaredL2Kernel>(vectors[s], rows, options[s], progress, cancellationToken, Include),
                _ => graph.Extend<Kernels.NegL1Kernel>(vectors[s], rows, options[s], progress, cancellationToken, Include),
            };
        }
    }

    /// <summary>Attaches a graph built over rows [0, graph.Count) of a sealed segment's space.</summary>
    public void AttachGraph(int space, HnswGraph graph)
    {
        if (!IsSealed)
            throw new InvalidOperationException("only a sealed segment's rows are stable enough to index");
        _graphs[space] = graph;
        // The rows never change again: give the graph walk huge pages.
        _stores[space].Freeze(_used);
    }

    /// <summary>
    /// Swaps a sealed segment's graph for an equal one held elsewhere (its memory-mapped file); queries running on
    /// the old one finish on it.
    /// </summary>
    public void ReplaceGraph(int space, HnswGraph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        if (!IsSealed || _graphs[space] is not { } current || current.Count != graph.Count || current.Dimension != graph.Dimension)
            throw new InvalidOperationException("only a sealed segment's graph can be replaced, and only by one over the same rows");
        Volatile.Write(ref _graphs[space], graph);
    }

    /// <summary>Live points with a vector covered by a graph, summed over spaces (collection info's indexed count).</summary>
    public long IndexedVectorCount()
    {
        long n = 0;
        for (var s = 0; s < _stores.Length; s++)
        {
            // Of a live graph, only the linked rows count (deleted rows among them make this an estimate).
            if (_graphs[s] is { } g)
                n += Math.Min(_stores[s].PresentCount, g.Count);
        }

        return n;
    }

    /// <summary>Bytes held in memory by vectors (mapped vector files not included: see <see cref="MappedVectorBytes"/>).</summary>
    public long VectorBytes => _stores.Sum(s => s.AllocatedBytes);

    public long GraphBytes => _graphs.Sum(g => g?.MemoryBytes ?? 0) + PayloadGraphBytes;

    /// <summary>
    /// Bytes of the live points' payloads held in memory, as the UTF-8 JSON they are kept in: not the ones left in a
    /// mapped file, nor empty ones, which share one instance (walks every point: not for hot paths).
    /// </summary>
    public long PayloadBytes()
    {
        long bytes = 0;
        for (var offset = 0; offset < _used; offset++)
        {
            if (_live[offset] && _payloads[offset] is { IsEmpty: false } payload)
                bytes += payload.Utf8.Length;
        }

        return bytes;
    }

    /// <summary>The stored rows of a space, for building a graph over a sealed segment.</summary>
    public ReadOnlyMemory<float> VectorRows(int space) => _stores[space].Rows(_used);

    public bool IsLiveAt(int offset) => _live[offset];

    /// <summary>Deletes the point at an offset of a sealed segment without a version check (optimizer swaps, recovery).</summary>
    public void DeleteOffset(int offset)
    {
        if (_live[offset])
            RemoveAt(offset);
    }

    /// <summary>Number of points that have a vector in each space, by space position.</summary>
    public int VectorCount(int space) => _stores[space].PresentCount;

    public int SpaceIndex(string name) => _storeByName.TryGetValue(name, out var i) ? i : -1;

    public bool TryGetOffset(PointId id, out int offset) => _offsets.TryGetValue(id, out offset);

    public PointId IdAt(int offset) => _ids[offset];

    public ulong VersionAt(int offset) => _versions[offset];

    /// <summary>
    /// Starts loading the id and version of <paramref name="offset"/>, which a hit about to be returned reads: its
    /// misses then overlap work still to be done (rescoring) instead of waiting one after another.
    /// </summary>
    public void PrefetchIdentity(int offset)
    {
        var ids = _ids;
        var versions = _versions;
        if ((uint)offset < (uint)ids.Length && (uint)offset < (uint)versions.Length)
        {
            RowPrefetch.Lines(ref Unsafe.As<PointId, byte>(ref ids[offset]), Unsafe.SizeOf<PointId>());
            RowPrefetch.Lines(ref Unsafe.As<ulong, byte>(ref versions[offset]), sizeof(ulong));
        }
    }

    /// <summary>The payload of a row: held in memory, or read from the points file when on_disk (see <see cref="MapPayloads"/>).</summary>
    public Payload PayloadAt(int offset) => _payloads[offset] ?? ReadMappedPayload(offset);

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
        ThrowIfSealed();
        ArgumentNullException.ThrowIfNull(payload);
        CheckVectors(vectors);
        if (_offsets.TryGetValue(id, out var offset))
        {
            if (_versions[offset] >= version)
                return false;
            if (_appendOnly)
            {
                // A linked row must keep the vector its links were chosen for: the new version gets a new row.
                RemoveAt(offset);
                offset = Allocate(id);
            }
            else
            {
                Indexes.Remove(offset, PayloadAt(offset));
                foreach (var store in _stores)
                    store.Remove(offset);
                RemoveSparse(offset);
                RemoveMulti(offset);
            }
        }
        else
        {
            offset = Allocate(id);
        }

        WriteRow(offset, version, vectors, payload);
        return true;
    }

    /// <summary>Stores a point's vectors, version and payload at a row its id already maps to.</summary>
    private void WriteRow(int offset, ulong version, IReadOnlyList<NamedVector> vectors, Payload payload)
    {
        SetVectors(offset, vectors);
        _versions[offset] = version;
        _payloads[offset] = payload;
        Indexes.Add(offset, payload);
    }

    public bool Delete(PointId id, ulong version)
    {
        if (!_offsets.TryGetValue(id, out var offset) || _versions[offset] >= version)
            return false;
        RemoveAt(offset);
        return true;
    }

    private void RemoveAt(int offset)
    {
        if (!Indexes.IsEmpty)
            Indexes.Remove(offset, PayloadAt(offset));
        foreach (var store in _stores)
            store.Remove(offset);
        RemoveSparse(offset);
        RemoveMulti(offset);
        _offsets.Remove(_ids[offset]);
        _live[offset] = false;
        _sortedIds = null;
        if (!IsSealed)
        {
            // A sealed segment's rows stay as they are (an optimizer may be reading them) and slots are never
            // reused; nor are an append-only segment's, whose graphs may still link them.
            _payloads[offset] = Payload.Empty;
            if (!_appendOnly)
                _freeOffsets.Push(offset);
        }
    }

    public bool SetPayload(PointId id, ulong version, Payload payload)
    {
        ThrowIfSealed();
        ArgumentNullException.ThrowIfNull(payload);
        if (!_offsets.TryGetValue(id, out var offset) || _versions[offset] >= version)
            return false;
        if (_appendOnly)
            offset = MoveToNewRow(offset, []);
        Indexes.Remove(offset, PayloadAt(offset));
        _payloads[offset] = payload;
        Indexes.Add(offset, payload);
        _versions[offset] = version;
        return true;
    }

    public bool UpdateVectors(PointId id, ulong version, IReadOnlyList<NamedVector> vectors)
    {
        ThrowIfSealed();
        CheckVectors(vectors);
        if (!_offsets.TryGetValue(id, out var offset) || _versions[offset] >= version)
            return false;
        if (_appendOnly)
            offset = MoveToNewRow(offset, vectors);
        SetVectors(offset, vectors);
        _versions[offset] = version;
        return true;
    }

    /// <summary>Moves a point of an append-only segment to a fresh row, carrying the vectors not being replaced.</summary>
    private int MoveToNewRow(int offset, IReadOnlyList<NamedVector> replaced)
    {
        var id = _ids[offset];
        var payload = PayloadAt(offset);
        var kept = new List<(int Space, float[] Values)>();
        for (var s = 0; s < _stores.Length; s++)
        {
            if (_stores[s].IsPresent(offset) && !replaced.Any(v => !v.IsSide && _storeByName[v.Name] == s))
                kept.Add((s, _stores[s].Get(offset).ToArray()));
        }

        var keptSparse = new List<(string Name, SparseVector Vector)>();
        foreach (var (name, rows) in _sparse)
        {
            if (rows.Get(offset) is { } sparse && !replaced.Any(v => v.IsSparse && v.Name == name))
                keptSparse.Add((name, sparse));
        }

        var keptMulti = new List<(string Name, MultiVector Vector)>();
        foreach (var name in _multi.Keys)
        {
            if (MultiAt(offset, name) is { } multi && !replaced.Any(v => v.IsMulti && v.Name == name))
                keptMulti.Add((name, multi));
        }

        RemoveAt(offset);
        var fresh = Allocate(id);
        foreach (var (space, values) in kept)
            _stores[space].Set(fresh, values);
        foreach (var (name, sparse) in keptSparse)
            SetSparse(fresh, name, sparse);
        foreach (var (name, multi) in keptMulti)
            SetMulti(fresh, name, multi);
        _payloads[fresh] = payload;
        Indexes.Add(fresh, payload);
        return fresh;
    }

    public bool DeleteVectors(PointId id, ulong version, IReadOnlyList<string> names)
    {
        ThrowIfSealed();
        if (!_offsets.TryGetValue(id, out var offset) || _versions[offset] >= version)
            return false;
        if (_appendOnly)
            offset = MoveToNewRow(offset, []);
        foreach (var name in names)
        {
            if (_storeByName.TryGetValue(name, out var s))
                _stores[s].Remove(offset);
            else if (!RemoveSparse(offset, name))
                RemoveMulti(offset, name);
        }

        _versions[offset] = version;
        return true;
    }

    /// <summary>
    /// Freezes the segment's data and returns the offsets live at this moment: the set an optimizer copies.
    /// </summary>
    public int[] Seal()
    {
        IsSealed = true;
        _sortedIds = null;
        return [.. LiveOffsets()];
    }

    /// <summary>A new row at the end, not live; every store of an append-only segment gets it zeroed.</summary>
    private int AllocateRow()
    {
        var offset = _used++;
        if (offset == _ids.Length)
        {
            var size = _ids.Length * 2;
            Array.Resize(ref _ids, size);
            Array.Resize(ref _versions, size);
            Array.Resize(ref _payloads, size);
            Array.Resize(ref _live, size);
        }

        if (_appendOnly)
        {
            // Every row of an append-only segment may be read by a graph extension: zeros, never garbage.
            foreach (var store in _stores)
                store.PrepareRow(offset);
        }

        return offset;
    }

    private void ThrowIfSealed()
    {
        if (IsSealed)
            throw new InvalidOperationException("a sealed segment accepts only deletes; move the point to the appendable segment");
    }

    // Checked before any mutation, so a bad operation changes nothing rather than leaving half a point.
    // Public so a caller moving a point between segments can check before it deletes the old copy.
    public void CheckVectors(IReadOnlyList<NamedVector> vectors)
    {
        foreach (var v in vectors)
        {
            if (v.IsSide)
                continue;
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
            offset = AllocateRow();

        _ids[offset] = id;
        _live[offset] = true;
        _offsets[id] = offset;
        return offset;
    }
}
