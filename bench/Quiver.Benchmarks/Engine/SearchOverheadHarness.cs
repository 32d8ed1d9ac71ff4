using System.Diagnostics;
using System.Globalization;

namespace Quiver.Benchmarks.Engine;

/// <summary>
/// <c>dotnet run -c Release --project bench/Quiver.Benchmarks -- overhead [rounds] [ef]</c>: the
/// <see cref="SearchOverheadBenchmarks"/> cases interleaved round by round (order rotating), reporting medians
/// and the median per-round difference to the raw graph. On a shared machine the load drifts between
/// BenchmarkDotNet's separate runs; pairing each round cancels most of that drift out of the overhead figure.
/// </summary>
internal static class SearchOverheadHarness
{
    public static void Run(int rounds, int ef)
    {
        var bench = new SearchOverheadBenchmarks { Ef = ef };
        bench.Setup();
        Console.Error.WriteLine("overhead: collection indexed, measuring");
        try
        {
            var cases = new (string Name, Func<int> Run)[] { ("raw graph", bench.RawGraph), ("raw+records", bench.RawGraphPlusRecords), ("segment", bench.SegmentSearch), ("collection", bench.CollectionSearch) };
            var perQuery = new double[cases.Length][];
            var bytes = new double[cases.Length];
            for (var c = 0; c < cases.Length; c++)
            {
                perQuery[c] = new double[rounds];
                for (var w = 0; w < 5; w++)
                    cases[c].Run();
            }

            for (var r = 0; r < rounds; r++)
            {
                for (var i = 0; i < cases.Length; i++)
                {
                    var c = (i + r) % cases.Length;
                    var allocated = GC.GetAllocatedBytesForCurrentThread();
                    var started = Stopwatch.GetTimestamp();
                    cases[c].Run();
                    perQuery[c][r] = Stopwatch.GetElapsedTime(started).TotalMicroseconds / SearchOverheadBenchmarks.QueryCount;
                    bytes[c] = (double)(GC.GetAllocatedBytesForCurrentThread() - allocated) / SearchOverheadBenchmarks.QueryCount;
                }
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ef {ef}, {rounds} rounds x {SearchOverheadBenchmarks.QueryCount} queries; per query:"));
            for (var c = 0; c < cases.Length; c++)
            {
                var diff = perQuery[c].Zip(perQuery[0], (a, b) => a - b).ToArray();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{cases[c].Name,-12} median {Median(perQuery[c]),7:F2} us (min {perQuery[c].Min(),6:F2}, max {perQuery[c].Max(),6:F2})  over raw: median {Median(diff),5:F2} us  allocated {bytes[c],6:F0} B"));
            }
        }
        finally
        {
            bench.Cleanup();
        }
    }

    private static double Median(double[] values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }
}
