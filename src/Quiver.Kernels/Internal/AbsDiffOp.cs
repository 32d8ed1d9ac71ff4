using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Quiver.Kernels.Internal;

/// <summary><c>acc + |a - b|</c>.</summary>
internal readonly struct AbsDiffOp : IPairAccumulator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Step(float acc, float a, float b) => acc + MathF.Abs(a - b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Step(Vector128<float> acc, Vector128<float> a, Vector128<float> b) =>
        acc + Vector128.Abs(a - b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Step(Vector256<float> acc, Vector256<float> a, Vector256<float> b) =>
        acc + Vector256.Abs(a - b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Step(Vector512<float> acc, Vector512<float> a, Vector512<float> b) =>
        acc + Vector512.Abs(a - b);
}
