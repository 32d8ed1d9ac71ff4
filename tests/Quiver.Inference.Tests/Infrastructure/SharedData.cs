using System.Runtime.InteropServices;
using System.Text.Json;

namespace Quiver.Inference.Tests.Infrastructure;

/// <summary>Reads shared/data, which lies beside the repository (../shared/data from the folder holding Quiver.slnx).</summary>
internal static class SharedData
{
    public static string Root { get; } = FindRoot();

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    /// <summary>The first <paramref name="rows"/> rows of a .fbin file (int32 count, int32 dim, float32 rows).</summary>
    public static float[][] ReadFbin(string path, int rows)
    {
        using var stream = File.OpenRead(path);
        Span<byte> header = stackalloc byte[8];
        stream.ReadExactly(header);
        var count = BitConverter.ToInt32(header[..4]);
        var dim = BitConverter.ToInt32(header[4..]);
        var result = new float[Math.Min(rows, count)][];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = new float[dim];
            stream.ReadExactly(MemoryMarshal.AsBytes(result[i].AsSpan()));
        }

        return result;
    }

    /// <summary>The first <paramref name="rows"/> lines of a .jsonl file, each parsed.</summary>
    public static List<JsonElement> ReadJsonl(string path, int rows) =>
        File.ReadLines(path).Take(rows).Select(line => JsonDocument.Parse(line).RootElement.Clone()).ToList();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "Quiver.slnx")))
                return System.IO.Path.GetFullPath(System.IO.Path.Combine(dir.FullName, "..", "shared", "data"));
        }

        throw new DirectoryNotFoundException("No folder containing Quiver.slnx above " + AppContext.BaseDirectory);
    }
}
