using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Quiver.Kernels.Internal;

/// <summary>CPU feature flags that the JIT folds to constants.</summary>
internal static class Cpu
{
    /// <summary>
    /// True when a fused multiply-add instruction exists for 128/256-bit vectors. Without it
    /// <c>Vector*.FusedMultiplyAdd</c> falls back to a slow exactly-rounded software path, so callers use
    /// <c>a * b + c</c> instead. AVX-512F implies FMA3 on every shipping x64 CPU.
    /// </summary>
    public static bool HasVectorFma => Fma.IsSupported || AdvSimd.IsSupported;
}
