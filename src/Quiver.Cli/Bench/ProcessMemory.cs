using System.Globalization;
using System.Text.Json.Nodes;

namespace Quiver.Cli.Bench;

/// <summary>
/// The process's memory as the kernel counts it (<c>/proc/self/status</c>): resident set, split into anonymous
/// memory (heap, native buffers: what a memory limit must hold) and file pages (mapped files, code: the OS may drop
/// them), and the peak. Zeros where the file is missing (not Linux).
/// </summary>
internal sealed record ProcessMemory(long RssBytes, long RssAnonBytes, long RssFileBytes, long PeakRssBytes, long ManagedHeapBytes)
{
    public static ProcessMemory Read()
    {
        var fields = new Dictionary<string, long>(StringComparer.Ordinal);
        const string status = "/proc/self/status";
        if (File.Exists(status))
        {
            foreach (var line in File.ReadLines(status))
            {
                // "VmRSS:	  123456 kB"
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                if (colon <= 0)
                    continue;
                var value = line[(colon + 1)..].Trim();
                if (value.EndsWith(" kB", StringComparison.Ordinal) && long.TryParse(value[..^3], NumberStyles.Integer, CultureInfo.InvariantCulture, out var kb))
                    fields[line[..colon]] = kb * 1024;
            }
        }

        return new ProcessMemory(
            fields.GetValueOrDefault("VmRSS"),
            fields.GetValueOrDefault("RssAnon"),
            fields.GetValueOrDefault("RssFile") + fields.GetValueOrDefault("RssShmem"),
            fields.GetValueOrDefault("VmHWM"),
            GC.GetGCMemoryInfo().HeapSizeBytes);
    }

    public string Describe() => string.Create(
        CultureInfo.InvariantCulture,
        $"process RSS {RssBytes / 1048576.0:F1} MiB (anonymous {RssAnonBytes / 1048576.0:F1}, file pages {RssFileBytes / 1048576.0:F1}), peak {PeakRssBytes / 1048576.0:F1} MiB; managed heap {ManagedHeapBytes / 1048576.0:F1} MiB");

    public void AddTo(JsonObject json)
    {
        json["rss_bytes"] = RssBytes;
        json["rss_anon_bytes"] = RssAnonBytes;
        json["rss_file_bytes"] = RssFileBytes;
        json["peak_rss_bytes"] = PeakRssBytes;
        json["managed_heap_bytes"] = ManagedHeapBytes;
    }
}
