using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Quiver.Index.Internal;

/// <summary>
/// Per-query visited marks: one <see cref="ushort"/> per node holding the generation that last visited it.
/// Starting a query bumps the generation, so the array is cleared only when the counter wraps (every 65,535
/// queries) instead of once per query.
/// </summary>
internal sealed class VisitedSet
{
    private ushort[] _marks = [];
    private ushort _generation;

    /// <summary>Starts a new query over <paramref name="count"/> nodes (grows the array when needed).</summary>
    public void Begin(int count)
    {
        if (_marks.Length < count)
        {
            _marks = new ushort[Math.Max(count, _marks.Length * 2)];
            _generation = 0;
        }

        _generation++;
        if (_generation == 0)
        {
            Array.Clear(_marks);
            _generation = 1;
        }
    }

    /// <summary>Marks <paramref name="node"/>; returns false when it was already marked in this query. No bounds check.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryVisit(int node)
    {
        ref var mark = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_marks), (nint)(uint)node);
        if (mark == _generation)
        {
            return false;
        }

        mark = _generation;
        return true;
    }

    /// <summary>Reference to the marks and the current generation, for loops that inline the check.</summary>
    public ref ushort Marks => ref MemoryMarshal.GetArrayDataReference(_marks);

    public ushort Generation => _generation;
}
