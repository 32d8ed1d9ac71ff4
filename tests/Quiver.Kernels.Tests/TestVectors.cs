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
}
