using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Quiver.Kernels;

namespace Quiver.Benchmarks.Kernels;

/// <summary>
/// One score of two vectors per operation, each kernel's dispatched (SIMD) path against its scalar path as the
/// baseline of its category. Dimensions are the common embedding sizes of the test data (GloVe-100,
/// MiniLM-384, Fashion-MNIST-784).
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory, BenchmarkLogicalGroupRule.ByParams)]
[CategoriesColumn]
public class KernelBenchmarks
{
    private float[] _a = [];
    private float[] _b = [];

    [Params(100, 384, 784)]
    public int Dim { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(42);
        _a = new float[Dim];
        _b = new float[Dim];
        for (var i = 0; i < Dim; i++)
        {
            _a[i] = (float)((rng.NextDouble() * 2) - 1);
            _b[i] = (float)((rng.NextDouble() * 2) - 1);
        }
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Dot")]
    public float DotScalar() => DotKernel.ScoreScalar(_a, _b);

    [Benchmark]
    [BenchmarkCategory("Dot")]
    public float Dot() => DotKernel.Score(_a, _b);

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("NegSquaredL2")]
    public float NegSquaredL2Scalar() => NegSquaredL2Kernel.ScoreScalar(_a, _b);

    [Benchmark]
    [BenchmarkCategory("NegSquaredL2")]
    public float NegSquaredL2() => NegSquaredL2Kernel.Score(_a, _b);

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("NegL1")]
    public float NegL1Scalar() => NegL1Kernel.ScoreScalar(_a, _b);

    [Benchmark]
    [BenchmarkCategory("NegL1")]
    public float NegL1() => NegL1Kernel.Score(_a, _b);
}
