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

        return GrpcCalls.RefuseAsync(http, global::Grpc.Core.StatusCode.Unimplemented, $"no gRPC method {http.Request.Path} (REST is served on its own port)");
    }
}
