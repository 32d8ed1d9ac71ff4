using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Quiver.Kernels;

namespace Quiver.Index.Sketch;

/// <summary>
/// A short stand-in for every row of a segment's vectors that bounds its score from above, so an exact scan
/// reads the full rows of only the candidates that can still enter the top k.
/// </summary>
/// <remarks>
/// A sketch row is <c>(Bx, |x - B^T Bx|)</c>: the coordinates of <c>x</c> along <see cref="Coordinates"/>
/// orthonormal directions (the data's principal components, so they carry most of the differences between rows),
/// then the length of what those directions miss. The same kernel applied to the query's and a row's sketches
/// never scores lower than the kernel on the full vectors:
/// <list type="bullet">
/// <item>squared L2: <c>|q - x|^2 = |B(q - x)|^2 + |r_q - r_x|^2 &gt;= |Bq - Bx|^2 + (|r_q| - |r_x|)^2</c>;</item>
/// <item>dot: <c>q.x = Bq.Bx + r_q.r_x &lt;= Bq.Bx + |r_q| |r_x|</c> (Cauchy-Schwarz).</item>
/// </list>
/// Any orthonormal basis keeps the bound valid; a good one only makes it tighter. Rows are written once, for a
/// segment whose rows never change, and read without locks.
/// </remarks>
public sealed partial class ProjectionSketch
{
    /// <summary>Floats per sketch row: the coordinates and the residual length (four cache lines).</summary>
    public const int Width = 64;

    /// <summary>Directions kept.</summary>
    public const int Coordinates = Width - 1;

    /// <summary>Below this many dimensions a sketch row is not small enough next to the vector to pay off.</summary>
    public const int MinDimension = 256;

    private readonly float[] _basis;
    private readonly float[] _rows;
    private int _count;

    /// <summary>The largest length of a row sketched so far (a row's sketch keeps its length).</summary>
    private float _maxRowNorm;

    private ProjectionSketch(int dimension, int rows, float[] basis, float[] sketchRows)
    {
        Dimension = dimension;
        _count = rows;
        _basis = basis;
        _rows = sketchRows;
        _maxRowNorm = MaxNorm(sketchRows, 0, rows);
    }

    /// <summary>The dimension of the vectors sketched.</summary>
    public int Dimension { get; }

    /// <summary>
    /// Rows covered: offsets [0, Rows) of the segment's space. Grows as <see cref="Extend"/> sketches appended
    /// rows; a reader that reads it once may use every row below.
    /// </summary>
    public int Rows => Volatile.Read(ref _count);

    /// <summary>Rows this sketch has room for.</summary>
    public int Capacity => _rows.Length / Width;

    public long MemoryBytes => ((long)_basis.Length + _rows.Length) * sizeof(float);

    /// <summary>True when vectors of <paramref name="dimension"/> get a sketch.</summary>
    public static bool Applies(int dimension) => dimension >= MinDimension;

    /// <summary>The sketch row of <paramref name="row"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ReadOnlySpan<float> Row(int row) =>
        MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_rows), (nint)row * Width), Width);

    /// <summary>Starts loading a row's sketch into the cache (a hint; a row past <see cref="Capacity"/> is ignored).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public unsafe void Prefetch(int row)
    {
        if (!Sse.IsSupported || (uint)row >= (uint)Capacity)
            return;
        var p = (byte*)Unsafe.AsPointer(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_rows), (nint)row * Width));
        // Four cache lines; a stale address after the GC moves the array is harmless for a prefetch.
        Sse.Prefetch0(p);
        Sse.Prefetch0(p + 64);
        Sse.Prefetch0(p + 128);
        Sse.Prefetch0(p + 192);
    }

    /// <summary>
    /// Writes the sketch of <paramref name="vector"/> (<see cref="Width"/> floats) into <paramref name="destination"/>;
    /// <paramref name="scratch"/> (<see cref="Dimension"/> floats) receives the residual.
    /// </summary>
    public void Project(ReadOnlySpan<float> vector, Span<float> destination, Span<float> scratch)
    {
        if (vector.Length != Dimension || scratch.Length < Dimension || destination.Length < Width)
            throw new ArgumentException($"Sketching needs a {Dimension}-float vector and scratch and a {Width}-float destination.");
        ProjectInto(_basis, vector, destination, scratch[..Dimension]);
    }

    /// <summary>
    /// The absolute margin for one query's bounds (<paramref name="querySketch"/> from <see cref="Project"/>): the
    /// bound and the full score are rounded differently, by up to about <c>sqrt(dim)</c> float steps of the terms
    /// they sum, which scale with the lengths involved (<c>|q| |x|</c> for a dot product, <c>(|q| + |x|)^2</c> for
    /// squared L2), not with the score: a score near zero from long vectors needs the margin most.
    /// </summary>
    public float QueryMargin(ReadOnlySpan<float> querySketch, bool squaredL2)
    {
        var queryNorm = MathF.Sqrt(DotKernel.Score(querySketch[..Width], querySketch[..Width]));
        var rowNorm = Volatile.Read(ref _maxRowNorm);
        var scale = squaredL2 ? (queryNorm + rowNorm) * (queryNorm + rowNorm) : queryNorm * rowNorm;
        return 2e-6f * MathF.Sqrt(Dimension) * scale;
    }

    /// <summary>
    /// Whether a row whose sketch scores <paramref name="bound"/> may still score at least <paramref name="floor"/>,
    /// allowing for rounding: <paramref name="margin"/> from <see cref="QueryMargin"/> plus a small relative margin,
    /// so a row whose exact score ties the floor is never skipped. NaN bounds always may.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool MayReach(float bound, float floor, float margin) =>
        !(bound < floor - ((1e-4f * (MathF.Abs(bound) + MathF.Abs(floor))) + margin));

    private static float MaxNorm(float[] sketchRows, int first, int end)
    {
        var max = 0f;
        for (var row = first; row < end; row++)
        {
            var sketch = sketchRows.AsSpan(row * Width, Width);
            max = MathF.Max(max, MathF.Sqrt(DotKernel.Score(sketch, sketch)));
        }

        return max;
    }

    private static void ProjectInto(float[] basis, ReadOnlySpan<float> vector, Span<float> destination, Span<float> residual)
    {
        var dim = vector.Length;
        // The residual is formed explicitly: |x|^2 - |Bx|^2 would cancel badly for rows close to the subspace.
        vector.CopyTo(residual);
        for (var c = 0; c < Coordinates; c++)
        {
            var direction = basis.AsSpan(c * dim, dim);
            var coordinate = DotKernel.Score(direction, vector);
            destination[c] = coordinate;
            AddScaled(residual, direction, -coordinate);
        }

        destination[Coordinates] = MathF.Sqrt(DotKernel.Score(residual, residual));
    }

    /// <summary><c>y += a * x</c> (equal lengths).</summary>
    private static void AddScaled(Span<float> y, ReadOnlySpan<float> x, float a)
    {
        ref var ry = ref MemoryMarshal.GetReference(y);
        ref var rx = ref MemoryMarshal.GetReference(x);
        var n = (nuint)(uint)Math.Min(y.Length, x.Length);
        nuint i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var va = Vector512.Create(a);
            for (; i + 16 <= n; i += 16)
                Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref rx, i), va, Vector512.LoadUnsafe(ref ry, i)).StoreUnsafe(ref ry, i);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var va = Vector256.Create(a);
            for (; i + 8 <= n; i += 8)
                Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref rx, i), va, Vector256.LoadUnsafe(ref ry, i)).StoreUnsafe(ref ry, i);
        }

        for (; i < n; i++)
            Unsafe.Add(ref ry, i) = MathF.FusedMultiplyAdd(Unsafe.Add(ref rx, i), a, Unsafe.Add(ref ry, i));
    }
}
