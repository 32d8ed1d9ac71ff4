using System.Runtime.Intrinsics.X86;

namespace Quiver.Kernels.Tests.Kernels;

/// <summary>The padded uint8 × int8 dot product of the walk on scalar codes, against a scalar reference.</summary>
public sealed class CodeDotKernelTests
{
    public enum Path
    {
        Dispatch,
        Scalar,
        Widened256,
        Vnni,
    }

    // Reported as skipped where this machine cannot run the path; Dispatch covers the one it takes.
    private static void SkipUnsupported(Path path)
    {
        Skip.If(path == Path.Vnni && !AvxVnni.IsSupported, "this CPU has no AVX-VNNI");
        Skip.If(path == Path.Widened256 && !Avx2.IsSupported, "this CPU has no AVX2");
    }

    public static TheoryData<Path, int> Cases()
    {
        var data = new TheoryData<Path, int>();
        foreach (var path in Enum.GetValues<Path>())
        {
            foreach (var dim in (int[])[1, 31, 32, 33, 64, 65, 96, 97, 100, 128, 129, 384, 784, 1536, 65_536])
                data.Add(path, dim);
        }

        return data;
    }

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void Equals_the_exact_sum_whatever_the_padding_of_the_row_holds(Path path, int dim)
    {
        SkipUnsupported(path);
        var random = new Random(dim);
        var padded = CodeDotKernel.PaddedLength(dim);
        Assert.Equal(0, padded % CodeDotKernel.Block);
        Assert.True(padded >= dim && padded - dim < CodeDotKernel.Block);
        var codes = new byte[padded];
        random.NextBytes(codes); // the padding too: the query's zeros must cancel it
        var query = new sbyte[padded];
        for (var i = 0; i < dim; i++)
            query[i] = (sbyte)random.Next(-128, 128);
        if (dim == 65_536)
        {
            // The extreme values everywhere: the largest sums the 32-bit lanes must hold.
            Array.Fill(codes, (byte)255);
            Array.Fill(query, (sbyte)-128, 0, dim);
        }

        long expected = 0;
        for (var i = 0; i < dim; i++)
            expected += codes[i] * query[i];
        int actual = path switch
        {
            Path.Dispatch => CodeDotKernel.Dot(codes, query, padded),
            Path.Scalar => CodeDotKernel.DotScalar(ref codes[0], ref query[0], padded),
            Path.Widened256 => CodeDotKernel.DotWidened256(ref codes[0], ref query[0], padded),
            _ => CodeDotKernel.DotVnni(ref codes[0], ref query[0], padded),
        };
        Assert.Equal(expected, actual);
    }

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void Tail_aligned_equals_the_exact_sum_and_reads_no_code_past_the_dimension(Path path, int dim)
    {
        SkipUnsupported(path);
        var random = new Random(dim + 1);
        var padded = CodeDotKernel.PaddedLength(dim);
        // The row, then a block of someone else's bytes (the next row of a packed table): a kernel that read them
        // with a live query value would be off.
        var codes = new byte[dim + CodeDotKernel.Block];
        random.NextBytes(codes);
        var query = new sbyte[padded];
        for (var i = 0; i < dim; i++)
            query[i] = (sbyte)random.Next(-128, 128);
        long expected = 0;
        for (var i = 0; i < dim; i++)
            expected += codes[i] * query[i];
        var aligned = (sbyte[])query.Clone();
        CodeDotKernel.AlignTail(aligned, dim);
        var lastCodes = dim < CodeDotKernel.Block ? 0 : dim - CodeDotKernel.Block;
        int actual = path switch
        {
            Path.Dispatch => CodeDotKernel.DotTailAligned(ref codes[0], ref aligned[0], dim),
            Path.Scalar => CodeDotKernel.DotScalarTail(ref codes[0], ref aligned[0], padded, lastCodes),
            Path.Widened256 => CodeDotKernel.DotWidenedTail(ref codes[0], ref aligned[0], padded, lastCodes),
            _ => CodeDotKernel.DotVnniTail(ref codes[0], ref aligned[0], padded, lastCodes),
        };
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void Align_tail_shifts_the_last_block_onto_the_last_codes()
    {
        var query = new sbyte[128];
        for (var i = 0; i < 100; i++)
            query[i] = (sbyte)(i + 1);
        CodeDotKernel.AlignTail(query, 100);
        // Blocks before the last are untouched; the last block lines up with codes 68..99, of which 68..95 were
        // counted in the block before.
        for (var i = 0; i < 96; i++)
            Assert.Equal((sbyte)(i + 1), query[i]);
        for (var t = 0; t < 28; t++)
            Assert.Equal(0, query[96 + t]);
        for (var t = 28; t < 32; t++)
            Assert.Equal((sbyte)(68 + t + 1), query[96 + t]);

        var whole = Enumerable.Range(1, 64).Select(i => (sbyte)i).ToArray();
        CodeDotKernel.AlignTail(whole, 64);
        Assert.Equal(Enumerable.Range(1, 64).Select(i => (sbyte)i), whole);
        Assert.Throws<ArgumentException>(() => CodeDotKernel.AlignTail(new sbyte[96], 100));
    }

    [Fact]
    public void Lengths_that_are_not_padded_or_overrun_a_span_are_refused()
    {
        Assert.Throws<ArgumentException>(() => CodeDotKernel.Dot(new byte[32], new sbyte[32], 31));
        Assert.Throws<ArgumentException>(() => CodeDotKernel.Dot(new byte[32], new sbyte[64], 64));
        Assert.Throws<ArgumentException>(() => CodeDotKernel.Dot(new byte[64], new sbyte[32], 64));
        Assert.Equal(0, CodeDotKernel.Dot([], [], 0));
    }
}
