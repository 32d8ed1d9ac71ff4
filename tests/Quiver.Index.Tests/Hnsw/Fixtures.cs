using Quiver.Index.Hnsw;
using Quiver.Kernels;

namespace Quiver.Index.Tests.Hnsw;

/// <summary>First 20,000 GloVe-100 base rows (normalised, angular as dot) and 200 queries, built once with M=16, efC=100.</summary>
public sealed class GloveFixture
{
    public const int Rows = 20_000;

    public GloveFixture()
    {
        Data = TestData.ReadFloats("glove-100-angular/base.fbin", Rows, out var dim);
        Queries = TestData.ReadFloats("glove-100-angular/query.fbin", 200, out _);
        Dim = dim;
        TestData.NormalizeRows(Data, dim);
        TestData.NormalizeRows(Queries, dim);
        Graph = HnswGraph.Build<DotKernel>(Data, dim, Rows, new HnswBuildOptions { M = 16, EfConstruct = 100, Threads = 1 });
    }

    public float[] Data { get; }

    public float[] Queries { get; }

    public int Dim { get; }

    public HnswGraph Graph { get; }
}

/// <summary>First 10,000 Fashion-MNIST rows (L2 as negated squared distance) with labels, and 200 queries.</summary>
public sealed class FashionFixture
{
    public const int Rows = 10_000;

    public FashionFixture()
    {
        Data = TestData.ReadBytesAsFloats("fashion-mnist-784-euclidean/base.u8bin", Rows, out var dim);
        Queries = TestData.ReadBytesAsFloats("fashion-mnist-784-euclidean/query.u8bin", 200, out _);
        Labels = TestData.ReadRaw("fashion-mnist-784-euclidean/base.labels.u8", Rows);
        Dim = dim;
        Graph = HnswGraph.Build<NegSquaredL2Kernel>(Data, dim, Rows, new HnswBuildOptions { M = 16, EfConstruct = 100, Threads = 2 });
    }

    public float[] Data { get; }

    public float[] Queries { get; }

    public byte[] Labels { get; }

    public int Dim { get; }

    public HnswGraph Graph { get; }
}
