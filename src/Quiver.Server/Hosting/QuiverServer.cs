using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Quiver.Engine.Catalog;
using Quiver.Engine.Shards;
using Quiver.Server.Internal;
using Quiver.Server.Observability;
using Quiver.Server.Rest;
using Quiver.Server.Security;
using Quiver.Storage.Files;
using Quiver.Storage.Wal;

namespace Quiver.Server.Hosting;

/// <summary>The Quiver server process: recovers storage, then serves the REST API until SIGTERM/SIGINT.</summary>
public static class QuiverServer
{
    public static async Task<int> RunAsync(QuiverOptions options, CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        // Entries written inside a request carry its trace and span ids (as a scope), so logs join up with traces.
        builder.Logging.Configure(o => o.ActivityTrackingOptions = ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId);
        if (options.Logging.Format == "json")
        {
            builder.Logging.AddJsonConsole(o =>
            {
                o.IncludeScopes = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                o.UseUtcTimestamp = true;
            });
        }
        else
        {
            builder.Logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.IncludeScopes = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                o.UseUtcTimestamp = true;
            });
        }

        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(options.Service.ShutdownTimeoutSec));
        builder.Services.AddQuiverMetrics();
        builder.Services.AddQuiverTracing(options.Tracing);
        builder.Services.AddRequestLimits(options.Service);
        builder.Services.AddSingleton(options.Service);
        // Loaded before anything listens: a certificate that cannot be read stops start-up with the reason.
        CertificateSource? certificates = null;
        ClientCertificateCheck? clients = null;
        try
        {
            if (options.Service.EnableTls)
                certificates = new CertificateSource(options.Tls.Cert!, options.Tls.Key!, TimeSpan.FromSeconds(options.Tls.CertTtl));
            if (options.Service.VerifyHttpsClientCertificate)
                clients = new ClientCertificateCheck(options.Tls.CaCert!);
        }
        catch (InvalidOperationException ex)
        {
            await Console.Error.WriteLineAsync($"quiver serve: {ex.Message}").ConfigureAwait(false);
            return 2;
        }

        // The Qdrant gRPC API reads shards in-process only: in cluster mode, where shards are spread over nodes, it is
        // not served yet (REST scatters and gathers).
        var grpcPort = options.Cluster.Enabled ? 0 : options.Service.GrpcPort;
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = options.Service.MaxRequestSizeMb * 1024L * 1024L;
            void Secure(Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions listen)
            {
                if (certificates is null)
                    return;
                // Per handshake, so a rotated certificate (and its chain) is served from the next connection on.
                listen.UseHttps(new Microsoft.AspNetCore.Server.Kestrel.Https.TlsHandshakeCallbackOptions
                {
                    OnConnection = _ =>
                    {
                        var tls = new System.Net.Security.SslServerAuthenticationOptions { ServerCertificateContext = certificates.Current };
                        clients?.Apply(tls);
                        return ValueTask.FromResult(tls);
                    },
                });
            }

            k.Listen(ServerLog.ParseAddress(options.Service.Host), options.Service.HttpPort, Secure);
            if (grpcPort > 0)
            {
                // gRPC is HTTP/2 only: over TLS it is negotiated, in the clear clients speak it directly (h2c).
                k.Listen(ServerLog.ParseAddress(options.Service.Host), grpcPort, listen =>
                {
                    listen.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http2;
                    Secure(listen);
                });
            }
        });
        // Disposed last, in the finally below: after shutdown no request is inside a model call any more.
        var models = new Quiver.Inference.InferenceModels(new Quiver.Inference.MiniLmOptions
        {
            IntraOpThreads = options.Inference.Threads > 0 ? options.Inference.Threads : Environment.ProcessorCount,
            MaxBatchSize = options.Inference.MaxBatchSize,
            MaxConcurrency = options.Inference.MaxConcurrency,
        });
        var inference = new Inference.DocumentInference(models);
        var catalogReference = new CatalogReference();
        if (grpcPort > 0)
        {
            builder.Services.AddGrpc(o => o.MaxReceiveMessageSize = (int)Math.Min(int.MaxValue, options.Service.MaxRequestSizeMb * 1024L * 1024L));
            builder.Services.AddSingleton<global::Grpc.AspNetCore.Server.Model.IServiceMethodProvider<Grpc.QdrantGrpcService>>(_ => new Grpc.GrpcBinding(catalogReference.Catalog!, inference));
            builder.Services.AddGrpcHealthChecks();
        }

        await using var app = builder.Build();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Quiver");
        var storagePath = Path.GetFullPath(options.Storage.StoragePath);
        ServerLog.Recovering(logger, storagePath);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        Quiver.Cluster.ClusterNode? cluster = null;
        if (options.Cluster.Enabled)
        {
            // Opening a replica replays its log synchronously (engine code) while NATS answers on pool threads: with
            // the default minimum of one thread per core, a few replicas opening at once starve the pool for seconds.
            ThreadPool.GetMinThreads(out var workers, out var completion);
            ThreadPool.SetMinThreads(Math.Max(workers, 64), Math.Max(completion, 64));
            try
            {
                cluster = await Quiver.Cluster.ClusterNode.StartAsync(ClusterOptionsOf(options), logger, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is NATS.Client.Core.NatsException or InvalidOperationException or TimeoutException or OperationCanceledException)
            {
                ServerLog.RecoveryFailed(logger, options.Cluster.NatsUrl!, ex.Message);
                return 1;
            }
        }

        CollectionCatalog catalog;
        try
        {
            catalog = CollectionCatalog.Open(new CatalogOptions
            {
                StoragePath = storagePath,
                SnapshotsPath = options.Storage.SnapshotsPath is { } snapshots ? Path.GetFullPath(snapshots) : null,
                Shards = new ShardOptions
                {
                    Fsync = options.Storage.Fsync,
                    FlushInterval = TimeSpan.FromSeconds(options.Storage.FlushIntervalSec),
                    WalSegmentBytes = options.Storage.WalSegmentMb * 1024L * 1024L,
                    ChangeFeed = options.ChangeStream is not null,
                },
                Cluster = cluster,
            }, logger);
        }
        catch (Exception ex) when (ex is WalCorruptionException or StorageCorruptionException or InvalidDataException or IOException
            or UnauthorizedAccessException or System.Text.Json.JsonException or ArgumentException or InvalidCastException or NATS.Client.Core.NatsException)
        {
            // Damaged or unreadable storage is for an operator to look at; never guess and serve partial data.
            ServerLog.RecoveryFailed(logger, storagePath, ex.Message);
            if (cluster is not null)
                await cluster.DisposeAsync().ConfigureAwait(false);
            return 1;
        }

        if (cluster is not null)
        {
            try
            {
                await cluster.AttachCatalogAsync(catalog, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is NATS.Client.Core.NatsException or IOException or InvalidOperationException or OperationCanceledException)
            {
                ServerLog.RecoveryFailed(logger, options.Cluster.NatsUrl!, ex.Message);
                await cluster.LeaveAsync().ConfigureAwait(false);
                await catalog.DisposeAsync().ConfigureAwait(false);
                await cluster.DisposeAsync().ConfigureAwait(false);
                return 1;
            }
        }

        if (options.Storage.StorageSnapshot is { } snapshot)
        {
            try
            {
                // Once per snapshot file: a flag left in a deployment must not roll the data back at every restart.
                var journal = Path.Combine(storagePath, "restored-snapshots.txt");
                var checksum = Quiver.Engine.Snapshots.SnapshotStore.FileSha256(snapshot);
                if (File.Exists(journal) && File.ReadAllLines(journal).Contains(checksum, StringComparer.Ordinal))
                {
                    ServerLog.SnapshotAlreadyRestored(logger, snapshot);
                }
                else
                {
                    ServerLog.RestoringSnapshot(logger, snapshot);
                    await catalog.RestoreFullSnapshotAsync(Path.GetFullPath(snapshot), cancellationToken).ConfigureAwait(false);
                    await File.AppendAllLinesAsync(journal, [checksum], cancellationToken).ConfigureAwait(false);
                }
            }
#pragma warning disable CA1031 // any failure to restore stops start-up with its reason, never half-serving
            catch (Exception ex)
#pragma warning restore CA1031
            {
                ServerLog.RecoveryFailed(logger, snapshot, ex is Quiver.Segment.Errors.QuiverException q ? q.Error.Message : ex.Message);
                await catalog.DisposeAsync().ConfigureAwait(false);
                return 1;
            }
        }

        ServerLog.Recovered(logger, catalog.CollectionNames.Count, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        catalogReference.Catalog = catalog;
        Quiver.Ingest.Connectors.ConnectorManager connectors;
        var changeStream = options.ChangeStream is { } changes ? new Quiver.Ingest.ChangeStream.ChangeStreamPublisher(catalog, changes, logger) : null;
        try
        {
            connectors = new Quiver.Ingest.Connectors.ConnectorManager(catalog, storagePath, options.Connectors, logger);
        }
        catch (Exception ex) when (ex is StorageCorruptionException or InvalidOperationException or Quiver.Segment.Errors.QuiverException or System.Text.Json.JsonException or KeyNotFoundException)
        {
            ServerLog.RecoveryFailed(logger, Path.Combine(storagePath, "connectors.dat"), ex.Message);
            if (cluster is not null)
                await cluster.LeaveAsync().ConfigureAwait(false);
            await catalog.DisposeAsync().ConfigureAwait(false);
            if (cluster is not null)
                await cluster.DisposeAsync().ConfigureAwait(false);
            return 1;
        }

        try
        {
            if (options.Inference.Preload)
                _ = models.MiniLm;
            app.Use(PathGuard.InvokeAsync);
            if (options.Tracing.Enabled)
                app.Use(ServerTracing.AddTraceResponseAsync);
            // Before the key check: a browser's preflight carries no key, and a flood is refused before any work.
            app.UseRequestLimits(options.Service);
            // Routing first, so the key check sees which endpoint (and so which access) a request needs.
            app.UseRouting();
            // Each API on its own port, decided by the port a connection arrived on (not the Host header, which
            // proxies and port mappings rewrite).
            if (grpcPort > 0)
                app.Use(new Grpc.PortSeparation(grpcPort).InvokeAsync);
            var requests = new RequestStatistics();
            app.Use(requests.InvokeAsync);
            var keys = new ApiKeyAccess(options.Service.ApiKey, options.Service.ReadOnlyApiKey, options.Service.JwtRbac, catalog);
            if (keys.Enabled)
                app.Use(keys.InvokeAsync);
            // After the key check: a forwarded part of a read carries the caller's key and is checked again there.
            using var router = cluster is null ? null : new Cluster.ClusterRouter(cluster, catalog, TimeSpan.FromMilliseconds(options.Cluster.PeerTimeoutMs));
            if (router is not null)
                app.Use(router.InvokeAsync);
            MapApi(app, catalog, inference, options.Service.JwtRbac, requests, connectors, cluster);
            if (grpcPort > 0)
            {
                app.MapGrpcService<Grpc.QdrantGrpcService>();
                app.MapGrpcHealthChecksService();
            }
            using var gauges = ServerMetrics.PublishCollectionGauges(catalog);

            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            foreach (var address in app.Urls)
                ServerLog.Listening(logger, address);
            connectors.StartAll();
            changeStream?.Start();
            await app.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // In-flight requests have finished (or timed out) by now: make the applied state durable and close.
            ServerLog.ShuttingDown(logger);
            // Connectors stop first: a batch in hand is finished and committed, or left for re-delivery.
            await connectors.DisposeAsync().ConfigureAwait(false);
            if (changeStream is not null)
                await changeStream.DisposeAsync().ConfigureAwait(false);
            // Leave first, so other nodes take over this node's shards at once; the replicas then close, then NATS.
            if (cluster is not null)
                await cluster.LeaveAsync().ConfigureAwait(false);
            await catalog.DisposeAsync().ConfigureAwait(false);
            if (cluster is not null)
                await cluster.DisposeAsync().ConfigureAwait(false);
            models.Dispose();
            ServerLog.Stopped(logger);
        }

        return 0;
    }

    /// <summary>Every REST endpoint (and the 404 fallback); tests enumerate them from here too.</summary>
    internal static void MapApi(
        IEndpointRouteBuilder app, CollectionCatalog catalog, Inference.DocumentInference inference, bool jwtRbac = false, RequestStatistics? requests = null,
        Quiver.Ingest.Connectors.ConnectorManager? connectors = null, Quiver.Cluster.ClusterNode? cluster = null)
    {
        app.MapServiceEndpoints();
        app.MapMetricsEndpoint();
        app.MapTelemetryEndpoint(catalog, jwtRbac, requests ?? new RequestStatistics());
        app.MapCollectionEndpoints(catalog);
        app.MapPointEndpoints(catalog, inference);
        app.MapQueryEndpoints(catalog, inference);
        app.MapSnapshotEndpoints(catalog);
        app.MapConnectorEndpoints(connectors);
        Cluster.ClusterEndpoints.MapClusterEndpoints(app, catalog, cluster);
        app.MapFallback((HttpContext http) => RestHandler.WriteErrorAsync(
            http, StatusCodes.Status404NotFound, $"Not found: no endpoint {http.Request.Method} {http.Request.Path}", System.Diagnostics.Stopwatch.GetTimestamp()));
    }

    private static Quiver.Cluster.ClusterOptions ClusterOptionsOf(QuiverOptions options)
    {
        var host = options.Service.Host is "0.0.0.0" or "::" or "[::]" ? Environment.MachineName : options.Service.Host;
        var scheme = options.Service.EnableTls ? "https" : "http";
        return new Quiver.Cluster.ClusterOptions
        {
            NatsUrl = options.Cluster.NatsUrl!,
            NodeId = options.Cluster.NodeId ?? Environment.MachineName,
            AdvertiseUrl = new Uri(options.Cluster.AdvertiseUrl ?? $"{scheme}://{host}:{options.Service.HttpPort}"),
            LogReplicas = options.Cluster.LogReplicas,
            Heartbeat = TimeSpan.FromMilliseconds(options.Cluster.HeartbeatMs),
            PeerTimeout = TimeSpan.FromMilliseconds(options.Cluster.PeerTimeoutMs),
            Prefix = options.Cluster.Prefix,
            SnapshotInterval = TimeSpan.FromSeconds(options.Cluster.SnapshotIntervalSec),
            ApiKey = options.Service.ApiKey,
        };
    }

    /// <summary>The catalog, for services registered before it is opened (the gRPC method binding).</summary>
    private sealed class CatalogReference
    {
        public CollectionCatalog? Catalog { get; set; }
    }
}
