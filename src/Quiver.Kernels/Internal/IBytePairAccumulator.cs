using System.Runtime.Intrinsics;

namespace Quiver.Kernels.Internal;

/// <summary>
/// One step of an element-wise uint8 pair reduction: <c>acc + f(a, b)</c> at every vector width, with
/// <c>f(a, b)</c> a non-negative integer of at most 255^2. The vector steps add each pair's terms into 32-bit
/// lanes in any arrangement: only the sum of all lanes is meaningful. Implemented by empty structs so
/// <see cref="BytePairReduce"/> is specialised per operation by the JIT. <c>f(0, 0)</c> must be 0: masked
/// tail lanes are zeroed in both inputs.
/// </summary>
internal interface IBytePairAccumulator
{
    static abstract int Term(byte a, byte b);

    static abstract Vector128<int> Step(Vector128<int> acc, Vector128<byte> a, Vector128<byte> b);

    static abstract Vector256<int> Step(Vector256<int> acc, Vector256<byte> a, Vector256<byte> b);

    static abstract Vector512<int> Step(Vector512<int> acc, Vector512<byte> a, Vector512<byte> b);
}
