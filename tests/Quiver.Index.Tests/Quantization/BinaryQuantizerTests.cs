using Quiver.Index.Hnsw;
using Quiver.Index.Quantization;
using Quiver.Kernels;
using Xunit.Abstractions;

namespace Quiver.Index.Tests.Quantization;

/// <summary>All 5,183 SciFact all-MiniLM-L6-v2 vectors (384-d, unit length) and 300 queries, with one graph built once.</summary>
public sealed class SciFactFixture
{
    public SciFactFixture()
    {
        Data = TestData.ReadFloats("scifact/minilm/corpus.fbin", int.MaxValue, out var dim);
        Queries = TestData.ReadFloats("scifact/minilm/queries.fbin", 300, out _);
        Dim = dim;
        Rows = Data.Length / dim;
        Graph = HnswGraph.Build<DotKernel>(Data, dim, Rows, new HnswBuildOptions { M = 16, EfConstruct = 100, Threads = 1 });
    }

    public float[] Data { get; }

    public float[] Queries { get; }

    public int Dim { get; }

    public int Rows { get; }

    public HnswGraph Graph { get; }
}

/// <summary>Binary codes: encodings, Hamming and asymmetric scores, the walk on them with rescoring, persistence.</summary>
public sealed class BinaryQuantizerTests(SciFactFixture scifact, ITestOutputHelper output) : IClassFixture<SciFactFixture>
{
    private const int K = 10;

    [Fact]
    public void Bits_follow_the_learnt_thresholds_and_levels_differ_by_their_hamming_distance()
    {
        // Component 0 spreads over -3..3, component 1 is constant: its deviation is 0 and all its bits agree.
        var rows = new float[600 * 2];
        for (var r = 0; r < 600; r++)
        {
            rows[r * 2] = -3 + (6f * r / 599);
            rows[(r * 2) + 1] = 5;
        }

        var one = BinaryQuantizer.Train(rows, 2, BinaryEncoding.OneBit);
        Assert.Equal(2, one.Bits);
        Assert.Equal(0f, one.Means[0], 1e-4f);
        var code = new ulong[1];
        one.Encode([0.5f, 5f], code);
        Assert.Equal(1UL, code[0]); // above the mean on component 0; component 1 is not above its own mean
        one.Encode([-0.5f, 5f], code);
        Assert.Equal(0UL, code[0]);

        var two = BinaryQuantizer.Train(rows, 2, BinaryEncoding.TwoBits);
        Assert.Equal(4, two.Bits);
        var sigma = two.Deviations[0];
        var low = new ulong[1];
        var middle = new ulong[1];
        var high = new ulong[1];
        two.Encode([-sigma, 5f], low);
        two.Encode([0f, 5f], middle);
        two.Encode([sigma, 5f], high);
        Assert.Equal(1, BinaryCodes.Hamming(low, middle));
        Assert.Equal(1, BinaryCodes.Hamming(middle, high));
        Assert.Equal(2, BinaryCodes.Hamming(low, high));

        // One and a half: the component that varies gets two bits, the constant one gets one.
        var half = BinaryQuantizer.Train(rows, 2, BinaryEncoding.OneAndHalfBits);
        Assert.Equal(3, half.Bits);
        Assert.True(half.TwoBitComponents[0]);
        Assert.False(half.TwoBitComponents[1]);
    }

    [Fact]
    public void Asymmetric_scores_are_the_dot_product_with_what_the_bits_stand_for()
    {
        var quantizer = BinaryQuantizer.Train(scifact.Data, scifact.Dim, BinaryEncoding.OneAndHalfBits);
        var codes = quantizer.EncodeAll(scifact.Data.AsSpan(0, 50 * scifact.Dim), asymmetricQuery: true);
        var query = scifact.Queries.AsSpan(0, scifact.Dim);
        var code = new ulong[quantizer.Words];
        for (var row = 0; row < 50; row++)
        {
            quantizer.Encode(scifact.Data.AsSpan(row * scifact.Dim, scifact.Dim), code);
            // The row each code stands for, component by component, from the levels documented on QueryWeights.
            double expected = 0;
            var slot = 0;
            for (var i = 0; i < scifact.Dim; i++)
            {
                double level;
                if (quantizer.TwoBitComponents[i])
                {
                    var bits = Bit(code, slot) + Bit(code, slot + 1);
                    slot += 2;
                    level = (bits - 1) * 1.09;
                }
                else
                {
                    level = Bit(code, slot++) == 1 ? 0.8 : -0.8;
                }

                expected += query[i] * (quantizer.Means[i] + (level * quantizer.Deviations[i]));
            }

            Assert.Equal(expected, codes.Dot(query, row), 1e-4);
        }

        static int Bit(ulong[] code, int slot) => (int)((code[slot >> 6] >> slot) & 1);
    }

    /// <summary>
    /// Recall@10 on SciFact (all 5,183 documents, 300 queries) of the walk on binary codes with the candidates
    /// rescored by their float rows. Measured (the build is deterministic: one thread): one bit x16 0.971; two bits
    /// x8 0.973; one and a half bits x8 0.960; one bit with asymmetric queries x4 0.960.
    /// </summary>
    [Theory]
    [InlineData(BinaryEncoding.OneBit, false, 16, 0.95)]
    [InlineData(BinaryEncoding.TwoBits, false, 8, 0.95)]
    [InlineData(BinaryEncoding.OneAndHalfBits, false, 8, 0.95)]
    [InlineData(BinaryEncoding.OneBit, true, 4, 0.95)]
    public void Walk_on_binary_codes_reaches_the_floor_once_rescored(BinaryEncoding encoding, bool asymmetric, int oversampling, double floor)
    {
        var codes = BinaryQuantizer.Train(scifact.Data, scifact.Dim, encoding).EncodeAll(scifact.Data, asymmetric);
        var candidates = new ScoredId[K * oversampling];
        long hits = 0;
        var count = scifact.Queries.Length / scifact.Dim;
        for (var q = 0; q < count; q++)
        {
            var query = scifact.Queries.AsSpan(q * scifact.Dim, scifact.Dim);
            var bound = TestData.BruteForce<DotKernel>(query, scifact.Data, scifact.Dim, K)[^1].Score;
            var found = scifact.Graph.SearchBinary(codes, query, asymmetric, K * oversampling, Math.Max(64, K * oversampling), null, candidates);
            Assert.Equal(K * oversampling, found);
            var rescored = new float[found];
            for (var i = 0; i < found; i++)
                rescored[i] = DotKernel.Score(query, scifact.Data.AsSpan(candidates[i].Id * scifact.Dim, scifact.Dim));
            hits += rescored.OrderDescending().Take(K).Count(s => s >= bound);
        }

        var recall = hits / (double)(count * K);
        output.WriteLine($"{encoding} asymmetric={asymmetric} x{oversampling}: recall@10 rescored {recall:F4}; {codes.Bytes} bytes of codes");
        Assert.True(recall >= floor, $"recall {recall:F4} < {floor}");
    }

    [Fact]
    public void Walk_scores_are_the_code_similarities()
    {
        var codes = BinaryQuantizer.Train(scifact.Data, scifact.Dim, BinaryEncoding.TwoBits).EncodeAll(scifact.Data);
        var results = new ScoredId[K];
        var code = new ulong[codes.Quantizer.Words];
        for (var q = 0; q < 20; q++)
        {
            var query = scifact.Queries.AsSpan(q * scifact.Dim, scifact.Dim);
            codes.Quantizer.Encode(query, code);
            var found = scifact.Graph.SearchBinary(codes, query, false, K, 64, null, results);
            for (var i = 0; i < found; i++)
            {
                var hamming = BinaryCodes.Hamming(code, codes.Code(results[i].Id));
                Assert.Equal(1f - (2f * hamming / codes.Quantizer.Bits), results[i].Score, 1e-6f);
                Assert.Equal(codes.Similarity(code, results[i].Id), results[i].Score, 1e-6f);
            }
        }
    }

    [Fact]
    public void Asymmetric_walk_scores_equal_the_codes_dot_products()
    {
        var codes = BinaryQuantizer.Train(scifact.Data, scifact.Dim, BinaryEncoding.TwoBits).EncodeAll(scifact.Data, asymmetricQuery: true);
        var results = new ScoredId[K];
        for (var q = 0; q < 10; q++)
        {
            var query = scifact.Queries.AsSpan(q * scifact.Dim, scifact.Dim);
            var found = scifact.Graph.SearchBinary(codes, query, asymmetric: true, K, 64, null, results);
            Assert.Equal(K, found);
            for (var i = 0; i < found; i++)
                Assert.Equal(codes.Dot(query, results[i].Id), results[i].Score, 1e-4f);
        }
    }

    /// <summary>
    /// Wide codes take the borrowed buffers: 4,200 dimensions at one bit are 66 words (past the 64 on the stack) and
    /// at two bits with asymmetric queries 132 words of tables (past the stack's 25). Over 300 rows a walk with ef 300
    /// is exhaustive, so it must find the brute-force best by code score.
    /// </summary>
    [Theory]
    [InlineData(BinaryEncoding.OneBit, false)]
    [InlineData(BinaryEncoding.TwoBits, true)]
    public void Wide_codes_are_searched_with_borrowed_buffers(BinaryEncoding encoding, bool asymmetric)
    {
        const int Dim = 4200;
        const int Rows = 300;
        var random = new Random(7);
        var data = new float[Rows * Dim];
        for (var i = 0; i < data.Length; i++)
            data[i] = (float)((random.NextDouble() * 2) - 1);
        var graph = HnswGraph.Build<DotKernel>(data, Dim, Rows, new HnswBuildOptions { M = 8, EfConstruct = 32 });
        var codes = BinaryQuantizer.Train(data, Dim, encoding).EncodeAll(data, asymmetric);
        var query = data.AsSpan(17 * Dim, Dim).ToArray();
        var code = new ulong[codes.Quantizer.Words];
        codes.Quantizer.Encode(query, code);
        var expected = Enumerable.Range(0, Rows)
            .Select(row => asymmetric ? codes.Dot(query, row) : codes.Similarity(code, row))
            .OrderDescending().Take(K).ToArray();
        var results = new ScoredId[K];
        var found = graph.SearchBinary(codes, query, asymmetric, K, Rows, null, results);
        Assert.Equal(K, found);
        Assert.Equal(expected, results.Select(r => r.Score).ToArray(), new Tolerance(1e-3f));
        if (!asymmetric)
            Assert.Equal(17, results[0].Id); // its own code: Hamming distance 0
    }

    private sealed class Tolerance(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance * Math.Max(1, Math.Abs(x));

        public int GetHashCode(float obj) => 0;
    }

    [Fact]
    public void Codes_round_trip_and_damage_is_reported()
    {
        var slice = scifact.Data.AsSpan(0, 300 * scifact.Dim);
        var codes = BinaryQuantizer.Train(slice, scifact.Dim, BinaryEncoding.OneAndHalfBits).EncodeAll(slice, asymmetricQuery: true);
        using var stream = new MemoryStream();
        codes.WriteTo(stream);
        var bytes = stream.ToArray();
        var read = BinaryCodes.ReadFrom(new MemoryStream(bytes), 300, scifact.Dim);
        Assert.True(read.AsymmetricQuery);
        Assert.Equal(BinaryEncoding.OneAndHalfBits, read.Quantizer.Encoding);
        Assert.Equal(codes.Quantizer.Means.ToArray(), read.Quantizer.Means.ToArray());
        Assert.Equal(codes.Quantizer.TwoBitComponents.ToArray(), read.Quantizer.TwoBitComponents.ToArray());
        for (var row = 0; row < 300; row++)
            Assert.True(codes.Code(row).SequenceEqual(read.Code(row)));
        Assert.Equal(codes.Dot(scifact.Queries.AsSpan(0, scifact.Dim), 7), read.Dot(scifact.Queries.AsSpan(0, scifact.Dim), 7));

        Assert.Throws<InvalidDataException>(() => BinaryCodes.ReadFrom(new MemoryStream(bytes[..^1]), 300, scifact.Dim));
        Assert.Throws<InvalidDataException>(() => BinaryCodes.ReadFrom(new MemoryStream(bytes), 301, scifact.Dim));
        var badEncoding = (byte[])bytes.Clone();
        badEncoding[4] = 9;
        Assert.Throws<InvalidDataException>(() => BinaryCodes.ReadFrom(new MemoryStream(badEncoding), 300, scifact.Dim));
        Assert.Throws<ArgumentException>(() => BinaryQuantizer.Train(new float[7], 2, BinaryEncoding.OneBit));
        Assert.Throws<ArgumentException>(() => BinaryQuantizer.Train([1f, float.PositiveInfinity], 2, BinaryEncoding.OneBit));
    }
}
