using System.Runtime.InteropServices;

namespace Quiver.Engine.Tests.Infrastructure;

/// <summary>Reads the shared datasets (big-ann-benchmarks layout: int32 count, int32 dim, row-major values).</summary>
internal static class Datasets
{
    public static string SharedData
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var candidate = System.IO.Path.Combine(dir.FullName, "shared", "data");
                if (File.Exists(System.IO.Path.Combine(dir.FullName, "Quiver.slnx")))
                    return System.IO.Path.GetFullPath(System.IO.Path.Combine(dir.FullName, "..", "shared", "data"));
                if (Directory.Exists(candidate))
                    return candidate;
            }

            throw new InvalidOperationException("shared/data not found");
        }
    }

    /// <summary>Reads the first <paramref name="maxRows"/> rows of a .fbin file.</summary>
    public static float[][] ReadFbin(string path, int maxRows)
    {
        using var fs = File.OpenRead(path);
        Span<byte> header = stackalloc byte[8];
        fs.ReadExactly(header);
        var count = BitConverter.ToInt32(header[..4]);
        var dim = BitConverter.ToInt32(header[4..]);
        var rows = new float[Math.Min(count, maxRows)][];
        for (var i = 0; i < rows.Length; i++)
        {
            rows[i] = new float[dim];
            fs.ReadExactly(MemoryMarshal.AsBytes(rows[i].AsSpan()));
        }

        return rows;
    }
}
