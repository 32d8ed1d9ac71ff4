using System.Globalization;
using System.Text.Json;

namespace Quiver.Cli.Bench;

/// <summary>
/// <c>quiver bench compare A.json B.json [--recall 0.95]</c>: for each filter setting, the QPS each engine reaches at
/// the target recall (linear interpolation between the two sweep points around it) and the ratio A/B.
/// </summary>
internal static class Compare
{
    public static int Run(IReadOnlyList<string> args)
    {
        var files = new List<string>();
        var target = 0.95;
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i] == "--recall" && i + 1 < args.Count && double.TryParse(args[i + 1], NumberStyles.Float, CultureInfo.InvariantCulture, out var r) && r is > 0 and <= 1)
                target = r;
            else if (args[i] == "--recall")
                throw new ArgumentException("--recall: expected a number in (0, 1]");
            else
            {
                files.Add(args[i]);
                continue;
            }

            i++;
        }

        if (files.Count != 2)
            throw new ArgumentException("usage: quiver bench compare A.json B.json [--recall 0.95]");
        var a = Load(files[0]);
        var b = Load(files[1]);
        Console.WriteLine($"QPS at recall@10 = {target:F2}: {a.Engine} ({files[0]}) vs {b.Engine} ({files[1]})");
        Console.WriteLine($"{"filter",-7} {a.Engine,12} {b.Engine,12} {"ratio",8}");
        var worst = double.MaxValue;
        foreach (var filter in a.Runs.Select(r => r.Filter).Distinct())
        {
            var qa = QpsAt(a.Runs.Where(r => r.Filter == filter), target);
            var qb = QpsAt(b.Runs.Where(r => r.Filter == filter), target);
            var ratio = qa is { } x && qb is { } y ? x / y : (double?)null;
            if (ratio is { } rr)
                worst = Math.Min(worst, rr);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{filter ?? "-",-7} {Format(qa),12} {Format(qb),12} {(ratio is { } r ? r.ToString("F2", CultureInfo.InvariantCulture) + "x" : "n/a"),8}"));
        }

        Console.WriteLine($"build seconds: {a.Engine} {a.BuildSeconds:F1}, {b.Engine} {b.BuildSeconds:F1} (ratio {a.BuildSeconds / b.BuildSeconds:F2})");
        Console.WriteLine($"index bytes: {a.Engine} {a.IndexBytes:N0}, {b.Engine} {b.IndexBytes:N0} (ratio {(double)a.IndexBytes / b.IndexBytes:F2})");
        return 0;
    }

    private static string Format(double? qps) => qps is { } q ? q.ToString("F0", CultureInfo.InvariantCulture) : "unreached";

    /// <summary>QPS at the target recall, interpolated between the sweep points around it; null if never reached.</summary>
    private static double? QpsAt(IEnumerable<SweepPoint> runs, double target)
    {
        var sorted = runs.OrderBy(r => r.Recall).ToArray();
        for (var i = 0; i < sorted.Length; i++)
        {
            if (sorted[i].Recall < target)
                continue;
            if (i == 0)
                return sorted[0].Qps;
            var (lo, hi) = (sorted[i - 1], sorted[i]);
            var t = (target - lo.Recall) / (hi.Recall - lo.Recall);
            return lo.Qps + (t * (hi.Qps - lo.Qps));
        }

        return null;
    }

    private sealed record SweepPoint(string? Filter, double Recall, double Qps);

    private sealed record Result(string Engine, double BuildSeconds, long IndexBytes, SweepPoint[] Runs);

    private static Result Load(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = doc.RootElement;
        var runs = root.GetProperty("runs").EnumerateArray()
            .Select(r => new SweepPoint(
                r.TryGetProperty("filter", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString() : null,
                r.GetProperty("recall_at_10").GetDouble(),
                r.GetProperty("qps").GetDouble()))
            .ToArray();
        return new Result(
            root.TryGetProperty("engine", out var e) ? e.GetString() ?? Path.GetFileName(path) : Path.GetFileName(path),
            root.GetProperty("build_seconds").GetDouble(),
            root.GetProperty("index_bytes").GetInt64(),
            runs);
    }
}
