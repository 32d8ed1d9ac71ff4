using Quiver.Server.Hosting;

namespace Quiver.Cli;

internal static class Program
{
    private const string Usage = """
        Usage: quiver <command> [options]

        Commands:
          serve      Run the server (REST on 6333, storage in ./storage by default)
          bench ann  Build an index over a dataset in-process and sweep recall/QPS (quiver bench ann --help)
          bench server Drive a running server over REST with concurrent clients (quiver bench server --help)
          bench stream Freshness and query stability while upserts stream in (quiver bench stream --help)
          bench ingest Ingest from NATS through a running server's connector (quiver bench ingest --help)
          bench beir Retrieval quality (nDCG@10, Recall@100) of BM25, dense and hybrid search on a BEIR dataset, loaded as text (quiver bench beir --help)
          bench grow Make a larger dataset from a shipped one, with exact ground truth (quiver bench grow --help)
          bench compare A.json B.json
                     Compare two bench JSON files: QPS of A over B at equal recall
          healthcheck [--url URL] [--insecure]
                     Exit 0 when URL (default http://127.0.0.1:6333/readyz) answers 200 (container health checks)
          version    Print the version

        serve options (each overrides config/config.yaml and QUIVER__SECTION__KEY variables):
          --config FILE               configuration file (default: config/config.yaml if present)
          --host ADDRESS              service.host (default 0.0.0.0)
          --http-port PORT            service.http_port (default 6333)
          --grpc-port PORT            service.grpc_port (default 6334; 0 turns gRPC off)
          --max-request-size-mb N     service.max_request_size_mb (default 32)
          --storage-path DIR          storage.storage_path (default ./storage)
          --fsync true|false          storage.fsync (default true)
          --flush-interval-sec N      storage.flush_interval_sec (default 5)
          --snapshots-path DIR        storage.snapshots_path (default STORAGE/snapshots)
          --storage-snapshot FILE     restore a full-storage snapshot before serving
          --cluster NATS_URL          cluster mode on NATS JetStream (cluster.enabled + cluster.nats_url)
          --node-id ID                cluster.node_id (default: the host name)
          --advertise-url URL         cluster.advertise_url (default http://HOST:HTTP_PORT)
        """;

    private static async Task<int> BenchAsync(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help")
        {
            Console.WriteLine(Bench.AnnBenchmark.Usage);
            return args.Length == 0 ? 2 : 0;
        }

        try
        {
            return args[0] switch
            {
                "ann" when args.Length > 1 && args[1] is "-h" or "--help" => Print(Bench.AnnBenchmark.Usage),
                "ann" => await Bench.AnnBenchmark.RunAsync(args[1..]).ConfigureAwait(false),
                "compare" => Bench.Compare.Run(args[1..]),
                "beir" when args.Length > 1 && args[1] is "-h" or "--help" => Print(Bench.BeirBenchmark.Usage),
                "beir" => await Bench.BeirBenchmark.RunAsync(args[1..]).ConfigureAwait(false),
                "grow" when args.Length > 1 && args[1] is "-h" or "--help" => Print(Bench.GrowDataset.Usage),
                "grow" => Bench.GrowDataset.Run(args[1..]),
                "server" when args.Length > 1 && args[1] is "-h" or "--help" => Print(Bench.ServerBenchmark.Usage),
                "server" => await Bench.ServerBenchmark.RunAsync(args[1..]).ConfigureAwait(false),
                "stream" when args.Length > 1 && args[1] is "-h" or "--help" => Print(Bench.StreamBenchmark.Usage),
                "stream" => await Bench.StreamBenchmark.RunAsync(args[1..]).ConfigureAwait(false),
                "ingest" when args.Length > 1 && args[1] is "-h" or "--help" => Print(Bench.IngestBenchmark.Usage),
                "ingest" => await Bench.IngestBenchmark.RunAsync(args[1..]).ConfigureAwait(false),
                _ => throw new ArgumentException($"unknown bench '{args[0]}'; known: ann, server, stream, ingest, beir, grow, compare"),
            };
        }
        catch (Exception ex) when (ex is ArgumentException or FileNotFoundException or DirectoryNotFoundException or InvalidDataException
            or InvalidOperationException or HttpRequestException)
        {
            await Console.Error.WriteLineAsync($"quiver bench: {ex.Message}").ConfigureAwait(false);
            return 2;
        }
    }

    private static int Print(string text)
    {
        Console.WriteLine(text);
        return 0;
    }

    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }

        switch (args[0])
        {
            case "healthcheck":
                return await HealthCheck.RunAsync(args[1..]).ConfigureAwait(false);
            case "version" or "--version":
                Console.WriteLine(typeof(QuiverServer).Assembly.GetName().Version?.ToString(3));
                return 0;
            case "bench":
                return await BenchAsync(args[1..]).ConfigureAwait(false);
            case "serve":
                QuiverOptions options;
                try
                {
                    options = QuiverOptions.Bind(ConfigurationLoader.Build(args[1..]));
                }
                catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or FormatException or InvalidDataException)
                {
                    await Console.Error.WriteLineAsync($"quiver serve: {ex.Message}").ConfigureAwait(false);
                    return 2;
                }

                return await QuiverServer.RunAsync(options).ConfigureAwait(false);
            default:
                await Console.Error.WriteLineAsync($"quiver: unknown command '{args[0]}'\n\n{Usage}").ConfigureAwait(false);
                return 2;
        }
    }
}
