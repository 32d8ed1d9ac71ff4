using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Quiver.Kernels;

namespace Quiver.Benchmarks.Kernels;

/// <summary>
/// One score of two vectors per operation: each uint8 kernel (dispatched SIMD path, and its scalar path) against
/// the float32 kernel of the same metric as the baseline of its category, on the same random bytes converted to
/// floats. Dimensions: Fashion-MNIST-784 (whose pixels are bytes) and OpenAI-1536.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory, BenchmarkLogicalGroupRule.ByParams)]
[CategoriesColumn]
public class ByteKernelBenchmarks
{
    private byte[] _a = [];
    private byte[] _b = [];
    private float[] _fa = [];
    private float[] _fb = [];

    [Params(784, 1536)]
    public int Dim { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(42);
        _a = new byte[Dim];
        _b = new byte[Dim];
        rng.NextBytes(_a);
        rng.NextBytes(_b);
        _fa = Array.ConvertAll(_a, x => (float)x);
        _fb = Array.ConvertAll(_b, x => (float)x);
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Dot")]
    public float DotFloat() => DotKernel.Score(_fa, _fb);

    [Benchmark]
    [BenchmarkCategory("Dot")]
    public float DotByte() => ByteDotKernel.Score(_a, _b);

    [Benchmark]
    [BenchmarkCategory("Dot")]
    public float DotByteScalar() => ByteDotKernel.ScoreScalar(_a, _b);

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("NegSquaredL2")]
    public float NegSquaredL2Float() => NegSquaredL2Kernel.Score(_fa, _fb);

    [Benchmark]
    [BenchmarkCategory("NegSquaredL2")]
    public float NegSquaredL2Byte() => ByteNegSquaredL2Kernel.Score(_a, _b);

    [Benchmark]
    [BenchmarkCategory("NegSquaredL2")]
    public float NegSquaredL2ByteScalar() => ByteNegSquaredL2Kernel.ScoreScalar(_a, _b);

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("NegL1")]
    public float NegL1Float() => NegL1Kernel.Score(_fa, _fb);

    [Benchmark]
    [BenchmarkCategory("NegL1")]
    public float NegL1Byte() => ByteNegL1Kernel.Score(_a, _b);

    [Benchmark]
    [BenchmarkCategory("NegL1")]
    public float NegL1ByteScalar() => ByteNegL1Kernel.ScoreScalar(_a, _b);
}
