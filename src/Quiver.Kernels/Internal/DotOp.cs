using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Quiver.Kernels.Internal;

/// <summary><c>acc + a * b</c>, fused where the hardware has FMA.</summary>
internal readonly struct DotOp : IPairAccumulator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Step(float acc, float a, float b) => acc + (a * b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Step(Vector128<float> acc, Vector128<float> a, Vector128<float> b) =>
        Cpu.HasVectorFma ? Vector128.FusedMultiplyAdd(a, b, acc) : acc + (a * b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Step(Vector256<float> acc, Vector256<float> a, Vector256<float> b) =>
        Cpu.HasVectorFma ? Vector256.FusedMultiplyAdd(a, b, acc) : acc + (a * b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Step(Vector512<float> acc, Vector512<float> a, Vector512<float> b) =>
        Cpu.HasVectorFma ? Vector512.FusedMultiplyAdd(a, b, acc) : acc + (a * b);
}
