using Grpc.AspNetCore.Server;

namespace Quiver.Server.Grpc;

/// <summary>
/// Keeps gRPC on <c>service.grpc_port</c> and REST off it: a gRPC method reached on the REST port gets REST's 404,
/// anything else reached on the gRPC port gets UNIMPLEMENTED. Runs after routing, before the key check.
/// </summary>
internal sealed class PortSeparation(int grpcPort)
{
    public Task InvokeAsync(HttpContext http, RequestDelegate next)
    {
        var grpcMethod = http.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>() is not null;
        var onGrpcPort = http.Connection.LocalPort == grpcPort;
        if (grpcMethod == onGrpcPort)
            return next(http);
        if (!onGrpcPort)
        {
            return Rest.RestHandler.WriteErrorAsync(http, StatusCodes.Status404NotFound,
                $"Not found: no endpoint {http.Request.Method} {http.Request.Path} (gRPC is served on port {grpcPort})", System.Diagnostics.Stopwatch.GetTimestamp());
        }

        http.Response.StatusCode = StatusCodes.Status200OK;
        http.Response.ContentType = "application/grpc";
        http.Response.Headers["grpc-status"] = ((int)global::Grpc.Core.StatusCode.Unimplemented).ToString(System.Globalization.CultureInfo.InvariantCulture);
        http.Response.Headers["grpc-message"] = Uri.EscapeDataString($"no gRPC method {http.Request.Path} (REST is served on its own port)");
        return Task.CompletedTask;
    }
}
