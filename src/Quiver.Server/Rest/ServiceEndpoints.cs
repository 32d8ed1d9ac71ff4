namespace Quiver.Server.Rest;

internal static class ServiceEndpoints
{
    /// <summary>The Qdrant API version Quiver is wire-compatible with; clients check it on connect.</summary>
    public const string CompatibleQdrantVersion = "1.19.0";

    public static void MapServiceEndpoints(this IEndpointRouteBuilder app)
    {
        var quiverVersion = typeof(ServiceEndpoints).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
        // Qdrant answers the root with bare VersionInfo, not inside the result envelope; clients read it as is.
        app.MapGet("/", () => Results.Json(
            new VersionInfo("quiver - vector search engine", CompatibleQdrantVersion, quiverVersion),
            RestJsonContext.Default.VersionInfo));

        app.MapGet("/healthz", () => Results.Text("healthz check passed"));
        app.MapGet("/livez", () => Results.Text("healthz check passed"));

        // Collections are recovered before the listener starts, so a serving process is ready.
        app.MapGet("/readyz", () => Results.Text("all shards are ready"));
    }
}
