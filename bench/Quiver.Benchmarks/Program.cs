using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/Quiver.Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
