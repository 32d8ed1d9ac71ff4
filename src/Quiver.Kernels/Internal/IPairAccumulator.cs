using System.Runtime.Intrinsics;

namespace Quiver.Kernels.Internal;

/// <summary>
/// One step of an element-wise pair reduction: <c>acc + f(a, b)</c> at every vector width.
/// Implemented by empty structs so <see cref="PairReduce"/> is specialised per operation by the JIT.
/// <c>f(0, 0)</c> must be 0: masked tail lanes are zeroed in both inputs.
/// </summary>
internal interface IPairAccumulator
{
    static abstract float Step(float acc, float a, float b);

    static abstract Vector128<float> Step(Vector128<float> acc, Vector128<float> a, Vector128<float> b);

    static abstract Vector256<float> Step(Vector256<float> acc, Vector256<float> a, Vector256<float> b);

    static abstract Vector512<float> Step(Vector512<float> acc, Vector512<float> a, Vector512<float> b);
}
