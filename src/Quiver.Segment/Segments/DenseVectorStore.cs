namespace Quiver.Segment.Segments;

/// <summary>
/// Growable row-major float32 storage for one vector space of a segment, with a presence flag per row
/// (a point may lack a named vector, or have had it deleted). Rows live in a managed array while the segment is
/// small, in a fixed huge-page reservation once it is indexed live (<see cref="Reserve"/>), and in a read-only
/// huge-page copy once it is sealed and indexed (<see cref="Freeze"/>): a graph walk over huge pages misses the TLB
/// far less. A sealed store may instead take its rows from the segment's vector file (<see cref="Adopt"/>): copied
/// into memory, or left in the file and mapped (on_disk vectors).
/// </summary>
internal sealed class DenseVectorStore
{
    private float[] _data;
    private bool[] _present;
    private Internal.IFrozenRows? _frozen;
    private Internal.CompactRows? _compact;
    private Internal.HugePageBuffer? _reservation;
    private bool _reserved;
    private int _rowsWritten;

    public DenseVectorStore(string name, int dimension, int capacity, VectorDatatype datatype = VectorDatatype.Float32)
    {
        Name = name;
        Dimension = dimension;
        Datatype = datatype;
        _data = new float[(long)dimension * Math.Max(capacity, 1) is var n && n <= Array.MaxLength ? (int)n : throw new OutOfMemoryException()];
        _present = new bool[Math.Max(capacity, 1)];
    }

    public string Name { get; }

    public int Dimension { get; }

    /// <summary>How the rows are stored once frozen: float32, or compact (see <see cref="Compact"/>).</summary>
    public VectorDatatype Datatype { get; }

    /// <summary>
    /// The frozen rows in a compact datatype, or null while they are float32 (always so before the store is frozen,
    /// and for float32 spaces). Scans and walks over compact rows widen them as they read.
    /// </summary>
    public Internal.CompactRows? Compact => _compact;

    public int PresentCount { get; private set; }

    /// <summary>The float32 rows as one span: row i is [i*Dimension, (i+1)*Dimension). Not of compact rows.</summary>
    public ReadOnlySpan<float> Data => _compact is not null ? throw CompactRowsError()
        : _frozen is { } frozen ? frozen.Span : _reservation is { } reserved ? reserved.Span : _data;

    /// <summary>Whether the rows are read from their file (on_disk) rather than held in memory.</summary>
    public bool IsMapped => _frozen is Internal.MappedRows || _compact?.IsMapped == true;

    /// <summary>Bytes of the vector file mapped for the rows (not resident: the OS pages them in and out).</summary>
    public long MappedBytes => (_frozen?.MappedBytes ?? 0) + (_compact?.MappedBytes ?? 0);

    /// <summary>
    /// The first <paramref name="rows"/> rows as float32 memory, for index builds that outlive a call; compact rows
    /// are widened into a copy.
    /// </summary>
    public ReadOnlyMemory<float> Rows(int rows) => _compact is { } compact ? Widened(compact, rows)
        : _frozen is { } frozen ? frozen.Memory[..(rows * Dimension)]
        : _reservation is { } reserved ? reserved.Memory[..(rows * Dimension)]
        : _data.AsMemory(0, rows * Dimension);

    private float[] Widened(Internal.CompactRows compact, int rows)
    {
        var values = new float[Math.Min((long)rows * Dimension, compact.Length)];
        compact.Widen(0, values);
        return values;
    }

    private InvalidOperationException CompactRowsError() =>
        new($"vector storage '{Name}' holds {Datatype} rows: read them through Compact");

    /// <summary>
    /// The rows a file of this store holds: the first <paramref name="rows"/>, or fewer when the store never grew
    /// that far (the rows past it have no vector).
    /// </summary>
    public ReadOnlyMemory<float> StoredRows(int rows) => Rows((int)Math.Min(rows, HeldValues / Math.Max(1, Dimension)));

    /// <summary>Values held (rows times dimension), whatever the datatype.</summary>
    private long HeldValues => _compact?.Length ?? Data.Length;

    /// <summary>Where rows are written.</summary>
    private Span<float> WritableData => _reservation is { } reservation ? reservation.Writable : _data;

    /// <summary>The first <paramref name="rows"/> rows for a snapshot: a copy when asked or frozen, else a view.</summary>
    public ReadOnlyMemory<float> SnapshotRows(int rows, bool copy)
    {
        // A store grows only when a row is set: a segment may hold more rows than a space that few points use.
        // The rows past it have no vector here, and a snapshot reads only rows that do.
        if (_compact is { } compact)
            return Widened(compact, rows);
        if (_frozen is Internal.MappedRows mapped)
            return mapped.Memory[..(int)Math.Min((long)rows * Dimension, mapped.Span.Length)];
        if (_frozen is { } frozen)
            return frozen.Span[..(int)Math.Min((long)rows * Dimension, frozen.Span.Length)].ToArray();
        if (_reservation is { } reservation)
        {
            var reserved = (int)Math.Min((long)rows * Dimension, reservation.Length);
            return copy ? reservation.Span[..reserved].ToArray() : reservation.Memory[..reserved];
        }

        var length = (int)Math.Min((long)rows * Dimension, _data.Length);
        return copy ? _data.AsSpan(0, length).ToArray() : _data.AsMemory(0, length);
    }

    /// <remarks>Of a reserved store, the rows written so far: the rest of the reservation is not touched yet.</remarks>
    public long AllocatedBytes => (_frozen?.ResidentBytes ?? 0) + (_compact?.ResidentBytes ?? 0) + _present.Length +
        (_reserved ? (long)_rowsWritten * Dimension * sizeof(float) : (long)_data.Length * sizeof(float));

    /// <summary>
    /// Makes room for <paramref name="rows"/> rows at once, so the store never copies itself under a writer's lock
    /// again. The room is left uninitialised (its pages cost memory only once rows are written into them) past
    /// the <paramref name="usedRows"/> the segment has already allocated, which read as zeros where never set;
    /// <see cref="PrepareRow"/> zeroes each row allocated after.
    /// </summary>
    public void Reserve(int rows, int usedRows)
    {
        if (_frozen is not null || _compact is not null || rows <= _present.Length)
            return;
        var length = (long)rows * Dimension;
        if (length > Array.MaxLength)
            rows = (int)(Array.MaxLength / Dimension);
        // Native memory, not a managed array: it can be aligned to and advised as huge pages, and a reservation is
        // never resized in place (a store outgrowing it moves back to a managed array).
        var reservation = new Internal.HugePageBuffer(rows * Dimension);
        var data = reservation.Writable;
        var current = Data;
        var copied = Math.Min(current.Length, data.Length);
        current[..copied].CopyTo(data);
        if ((long)usedRows * Dimension > copied)
            data[copied..(int)Math.Min(data.Length, (long)usedRows * Dimension)].Clear();
        _reservation = reservation;
        _data = [];
        Array.Resize(ref _present, rows);
        _reserved = true;
    }

    public bool IsPresent(int offset) => offset < _present.Length && _present[offset];

    /// <summary>Row <paramref name="offset"/>: a view of float32 rows, a widened copy of compact ones.</summary>
    public ReadOnlySpan<float> Get(int offset)
    {
        if (_compact is not { } compact)
            return Data.Slice(offset * Dimension, Dimension);
        var row = new float[Dimension];
        compact.Widen(offset * Dimension, row);
        return row;
    }

    /// <summary>
    /// Moves the first <paramref name="rows"/> rows into huge-page memory for good; the store is read-only from
    /// then on (presence flags can still be cleared).
    /// </summary>
    public void Freeze(int rows)
    {
        if (_frozen is not null || _compact is not null)
            return; // frozen already, or adopted from the vector file
        if (Datatype == VectorDatatype.Float32)
            _frozen = new Internal.HugePageBuffer(Data[..(rows * Dimension)]);
        else
            _compact = Internal.CompactRows.Convert(Data[..(rows * Dimension)], Datatype);
        _reservation = null;
        _data = [];
    }

    /// <summary>
    /// Takes the rows of a store just loaded (empty) from its file, for good: float32 <paramref name="rows"/> or
    /// <paramref name="compact"/> ones (one of the two) hold <paramref name="present"/>.Length rows, and a nonzero byte
    /// of <paramref name="present"/> marks a row that has a vector.
    /// </summary>
    public void Adopt(Internal.IFrozenRows? rows, Internal.CompactRows? compact, ReadOnlySpan<byte> present)
    {
        var values = ValuesOf(rows, compact);
        if ((long)present.Length * Dimension != values)
            throw new ArgumentException($"vector storage '{Name}': {present.Length} rows of {Dimension} need {(long)present.Length * Dimension} values, the file holds {values}");
        if (PresentCount != 0 || _frozen is not null || _compact is not null)
            throw new InvalidOperationException($"vector storage '{Name}' holds rows already: move them with Rehome");
        var flags = new bool[Math.Max(1, present.Length)];
        var count = 0;
        for (var i = 0; i < present.Length; i++)
        {
            flags[i] = present[i] != 0;
            count += flags[i] ? 1 : 0;
        }

        Install(rows, compact);
        _present = flags;
        _rowsWritten = present.Length;
        PresentCount = count;
    }

    /// <summary>
    /// Moves a serving store's rows to another home holding the same values (their file, mapped or copied into
    /// memory; float32 <paramref name="rows"/> or <paramref name="compact"/> ones); the presence flags, deletes since
    /// the file was written included, stay. Readers of the rows held before must be excluded by the caller (the
    /// shard's write lock): that memory may be freed once nothing else references it.
    /// </summary>
    public void Rehome(Internal.IFrozenRows? rows, Internal.CompactRows? compact)
    {
        var values = ValuesOf(rows, compact);
        var held = HeldValues;
        // The file holds every row up to the last one with a vector; a store may have room for more (zeros).
        var tailNonZero = values < held && (_compact is { } current
            ? current.BytesOf(values, (int)(held - values)).ContainsAnyExcept((byte)0)
            : Data[(int)values..].ContainsAnyExcept(0f));
        if (values > held || tailNonZero)
            throw new ArgumentException($"vector storage '{Name}': the file holds {values} values, the store {held} that differ past them");
        Install(rows, compact);
        _rowsWritten = (int)(values / Math.Max(1, Dimension));
    }

    private static long ValuesOf(Internal.IFrozenRows? rows, Internal.CompactRows? compact) =>
        rows is not null && compact is null ? rows.Span.Length
        : compact is not null && rows is null ? compact.Length
        : throw new ArgumentException("rows come either as float32 or compact");

    private void Install(Internal.IFrozenRows? rows, Internal.CompactRows? compact)
    {
        _frozen = rows;
        _compact = compact;
        _reservation = null;
        _reserved = false;
        _data = [];
    }

    /// <summary>
    /// Makes row <paramref name="offset"/> exist and read as zeros until it is set: a graph links every row of a
    /// live segment, including rows of points that lack this vector, and must never read uninitialised memory.
    /// </summary>
    public void PrepareRow(int offset)
    {
        if (_frozen is not null || _compact is not null)
            throw new InvalidOperationException($"vector storage '{Name}' is frozen");
        EnsureCapacity(offset + 1);
        if (_reserved)
        {
            WritableData.Slice(offset * Dimension, Dimension).Clear();
            _rowsWritten = Math.Max(_rowsWritten, offset + 1);
        }
    }

    public void Set(int offset, ReadOnlySpan<float> values)
    {
        if (_frozen is not null || _compact is not null)
            throw new InvalidOperationException($"vector storage '{Name}' is frozen");
        EnsureCapacity(offset + 1);
        values.CopyTo(WritableData.Slice(offset * Dimension, Dimension));
        _rowsWritten = Math.Max(_rowsWritten, offset + 1);
        if (!_present[offset])
        {
            _present[offset] = true;
            PresentCount++;
        }
    }

    public void Remove(int offset)
    {
        if (offset < _present.Length && _present[offset])
        {
            _present[offset] = false;
            PresentCount--;
        }
    }

    private void EnsureCapacity(int rows)
    {
        if (rows <= _present.Length)
            return;
        var newRows = Math.Max(rows, _present.Length * 2);
        var newLength = (long)newRows * Dimension;
        if (newLength > Array.MaxLength)
            newRows = (int)(Array.MaxLength / Dimension);
        if (newRows < rows)
            throw new InvalidOperationException($"vector storage '{Name}' is full");
        if (_reservation is { } reservation)
        {
            // Outgrown: back to a managed array. Readers holding the reservation's memory keep it alive.
            _data = new float[newRows * Dimension];
            reservation.Span.CopyTo(_data);
            _reservation = null;
        }
        else
        {
            Array.Resize(ref _data, newRows * Dimension);
        }

        Array.Resize(ref _present, newRows);
        _reserved = false;
    }
}
