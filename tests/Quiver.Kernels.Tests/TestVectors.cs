namespace Quiver.Kernels.Tests;

/// <summary>Deterministic random vectors for tests.</summary>
internal static class TestVectors
{
    /// <summary>Dimensions 0..70 (every tail of every width) plus common and awkward embedding sizes.</summary>
    public static readonly int[] Dims =
    [
        .. Enumerable.Range(0, 71),
        79, 96, 100, 127, 128, 129, 255, 256, 257, 384, 512, 768, 784, 1000, 1023, 1024, 1025, 1536, 3072,
    ];

    public static float[] Random(Random rng, int n, float scale = 1f)
    {
        var v = new float[n];
        for (var i = 0; i < n; i++)
        {
            v[i] = (float)((rng.NextDouble() * 2) - 1) * scale;
        }

        return v;
    }

    /// <summary>
    /// Lengths for the uint8 kernels: 0..300 (every tail of every width, up to four 512-bit vectors of 64 bytes and
    /// beyond), common embedding sizes, and the 32,768-element block edges up to past Qdrant's 65,536-dim limit.
    /// </summary>
    public static readonly int[] ByteDims =
    [
        .. Enumerable.Range(0, 301),
        784, 1023, 1536, 4096, 32_767, 32_768, 32_769, 65_535, 65_536, 100_003,
    ];

    public static byte[] RandomBytes(Random rng, int n)
    {
        var v = new byte[n];
        rng.NextBytes(v);
        return v;
    }
}
