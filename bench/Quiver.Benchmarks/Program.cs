using BenchmarkDotNet.Running;
using Quiver.Benchmarks.Engine;

// dotnet run -c Release --project bench/Quiver.Benchmarks -- --filter '*'
// dotnet run -c Release --project bench/Quiver.Benchmarks -- overhead [rounds] [ef]   (paired engine-overhead harness)
if (args.Length > 0 && args[0] == "overhead")
{
    var number = (int index, int fallback) => args.Length > index ? int.Parse(args[index], System.Globalization.CultureInfo.InvariantCulture) : fallback;
    SearchOverheadHarness.Run(number(1, 40), number(2, 40));
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
