using System.Globalization;
using ScottPlot;
using ScottPlot.TickGenerators;

namespace Quiver.Cli.Bench;

/// <summary>
/// <c>quiver bench ann --plot FILE.png</c>: recall@10 against single-thread QPS (log scale), one line per filter
/// setting, each marker labelled with its ef.
/// </summary>
internal static class RecallPlot
{
    private const int Width = 960;
    private const int Height = 640;

    /// <summary>
    /// Checks the path and that SkiaSharp can render here, so a bad <c>--plot</c> fails before the benchmark
    /// instead of after it. Returns the full path.
    /// </summary>
    public static string Validate(string path)
    {
        if (!string.Equals(Path.GetExtension(path), ".png", StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"--plot: expected a .png file name, got '{path}'");
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full))
            throw new ArgumentException($"--plot: {full} is a directory");
        var dir = Path.GetDirectoryName(full);
        if (dir is not null && !Directory.Exists(dir))
            throw new ArgumentException($"--plot: directory {dir} does not exist");

        // Open for writing without truncating: an existing plot survives if the benchmark later fails.
        var existed = File.Exists(full);
        try
        {
            using (File.Open(full, FileMode.OpenOrCreate, FileAccess.Write))
            {
            }

            if (!existed)
                File.Delete(full);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"--plot: cannot write {full}: {ex.Message}", ex);
        }

        // A tiny render loads the native SkiaSharp/HarfBuzz libraries and a font now rather than after the run.
        try
        {
            using var probe = new Plot();
            probe.Title("probe");
            _ = probe.GetImageBytes(32, 32, ImageFormat.Png);
        }
        catch (Exception ex) when (ex is DllNotFoundException or TypeInitializationException or BadImageFormatException)
        {
            throw new InvalidOperationException($"--plot: SkiaSharp cannot render on this machine: {ex.Message}", ex);
        }

        return full;
    }

    public static void Save(string path, string dataset, int points, int m, int efConstruct, IReadOnlyList<AnnBenchmark.RunResult> runs)
    {
        if (runs.Count == 0)
            throw new InvalidOperationException("--plot: no runs to plot");

        using var plot = new Plot();
        if (SansFont() is { } font)
            plot.Font.Set(font);
        plot.Title(string.Create(CultureInfo.InvariantCulture, $"{dataset} ({points:N0} points): M={m}, ef_construct={efConstruct}"));
        plot.XLabel("recall@10");
        plot.YLabel("queries per second, 1 thread (log scale)");

        // Recall is a share: show up to 1 (with room for markers sitting on it), from the tenth below the worst run.
        var left = Math.Max(0, Math.Floor(runs.Min(r => r.Recall) * 10 - 1e-9) / 10);
        var right = 1 + (1 - left) * 0.02;
        plot.Axes.SetLimitsX(left, right);
        plot.Axes.Bottom.TickGenerator = RecallTicks(left);

        // ScottPlot has no log axis: plot log10(QPS) and label the ticks with the real values. At least a factor
        // of 3 top to bottom, so the 1-2-5 ticks always put a labelled line inside.
        var (low, high) = (Math.Log10(runs.Min(r => r.Qps)), Math.Log10(runs.Max(r => r.Qps)));
        var pad = Math.Max(0.08, (Math.Log10(3) - (high - low)) / 2);
        (low, high) = (low - pad, high + pad);
        plot.Axes.SetLimitsY(low, high);
        plot.Axes.Left.TickGenerator = LogTicks(low, high);
        plot.Grid.YAxisStyle.MinorLineStyle.Width = 1;
        plot.Grid.YAxisStyle.MinorLineStyle.Color = Colors.Black.WithOpacity(0.05);

        foreach (var group in runs.GroupBy(r => r.Filter))
        {
            var series = group.OrderBy(r => r.Ef).ToArray();
            var xs = series.Select(r => r.Recall).ToArray();
            var ys = series.Select(r => Math.Log10(r.Qps)).ToArray();
            var line = plot.Add.Scatter(xs, ys);
            line.LegendText = group.Key is null ? "unfiltered" : $"filter {group.Key}";
            line.LineWidth = 2;
            line.MarkerSize = 8;

            // Runs that land on (nearly) the same spot, e.g. an exact scan whatever the ef, share one label.
            for (var i = 0; i < series.Length;)
            {
                var j = i;
                while (j + 1 < series.Length && Math.Abs(xs[j + 1] - xs[i]) < (right - left) * 0.015 && Math.Abs(ys[j + 1] - ys[i]) < (high - low) * 0.03)
                    j++;
                var text = i == j ? $"ef={series[i].Ef}" : $"ef={series[i].Ef}..{series[j].Ef}";
                var label = plot.Add.Text(text, xs[i], ys[i]);
                label.LabelFontSize = 11;
                label.LabelFontColor = line.Color;
                // Up and to the right, except near the right edge (high recall), where it would be cut off.
                var nearRight = xs[i] > left + (right - left) * 0.85;
                label.LabelAlignment = nearRight ? Alignment.LowerRight : Alignment.LowerLeft;
                label.OffsetX = nearRight ? -5 : 5;
                label.OffsetY = -3;
                i = j + 1;
            }
        }

        // Low recall at low QPS is the corner a sweep never reaches.
        plot.ShowLegend(Alignment.LowerLeft);
        plot.SavePng(path, Width, Height);
    }

    /// <summary>Ticks from <paramref name="left"/> to exactly 1 (none past it, though the axis runs a little further).</summary>
    private static NumericManual RecallTicks(double left)
    {
        var span = 1 - left;
        var step = span <= 0.1 + 1e-9 ? 0.01 : span <= 0.3 + 1e-9 ? 0.05 : 0.1;
        var ticks = new NumericManual();
        var count = (int)Math.Round(span / step);
        for (var i = 0; i <= count; i++)
        {
            var at = left + i * step;
            ticks.AddMajor(at, at.ToString(step < 0.1 ? "F2" : "F1", CultureInfo.InvariantCulture));
            if (i < count)
                ticks.AddMinor(at + step / 2);
        }

        return ticks;
    }

    /// <summary>
    /// The SkiaSharp build without fontconfig cannot find "the sans font" and falls back to the first font it
    /// loads (DejaVu Serif on Debian); ask for common sans families by name and keep one that really exists.
    /// </summary>
    private static string? SansFont()
    {
        foreach (var family in (string[])["DejaVu Sans", "Liberation Sans", "Noto Sans", "Arial", "Helvetica"])
        {
            if (string.Equals(Fonts.GetTypeface(family, bold: false, italic: false)?.FamilyName, family, StringComparison.OrdinalIgnoreCase))
                return family;
        }

        return null;
    }

    /// <summary>Major ticks at 1, 2, 5 × 10^k and minor ticks at the other integers, between two log10 values.</summary>
    private static NumericManual LogTicks(double low, double high)
    {
        var ticks = new NumericManual();
        for (var decade = (int)Math.Floor(low); decade <= (int)Math.Ceiling(high); decade++)
        {
            for (var digit = 1; digit <= 9; digit++)
            {
                var value = digit * Math.Pow(10, decade);
                var at = Math.Log10(value);
                if (at < low || at > high)
                    continue;
                if (digit is 1 or 2 or 5)
                    ticks.AddMajor(at, value.ToString("N0", CultureInfo.InvariantCulture));
                else
                    ticks.AddMinor(at);
            }
        }

        return ticks;
    }
}
