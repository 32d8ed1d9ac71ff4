using System.Reflection;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Quiver.Engine.Catalog;
using Quiver.Segment.Errors;
using Quiver.Server.Rest;

namespace Quiver.Server.Grpc;

/// <summary>The type Grpc.AspNetCore activates per call; the handlers are bound as delegates and do not use it.</summary>
internal sealed class QdrantGrpcService;

/// <summary>
/// Binds Qdrant's gRPC services. Service and method names and message types come from the service descriptors in
/// the official client package (Qdrant.Client), so the wire format is theirs by construction. Every method of
/// <c>qdrant.Qdrant</c>, <c>Collections</c>, <c>Points</c> and <c>Snapshots</c> is bound: to its handler, or to
/// UNIMPLEMENTED naming what is missing. Each call is authorized (API key, read-only key, JWT grants on the
/// message's collection), and expected failures become the status codes of <see cref="ErrorMapping"/>.
/// </summary>
internal sealed class GrpcBinding(CollectionCatalog catalog, Inference.DocumentInference? inference = null) : IServiceMethodProvider<QdrantGrpcService>
{
    private static readonly ServiceDescriptor[] Services =
    [
        Qdrant.Client.Grpc.QdrantReflection.Descriptor.Services.Single(),
        Qdrant.Client.Grpc.CollectionsServiceReflection.Descriptor.Services.Single(),
        Qdrant.Client.Grpc.PointsServiceReflection.Descriptor.Services.Single(),
        Qdrant.Client.Grpc.SnapshotsServiceReflection.Descriptor.Services.Single(),
    ];

    private static readonly MethodInfo UnimplementedMethod = typeof(GrpcBinding).GetMethod(nameof(BindUnimplemented), BindingFlags.NonPublic | BindingFlags.Static)!;

    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<QdrantGrpcService> context)
    {
        var handlers = new GrpcHandlers(catalog, inference).All();
        foreach (var service in Services)
        {
            foreach (var method in service.Methods)
            {
                var key = $"{service.FullName}/{method.Name}";
                if (handlers.Remove(key, out var bind))
                    bind(context, method);
                else if (!method.IsClientStreaming && !method.IsServerStreaming)
                    UnimplementedMethod.MakeGenericMethod(method.InputType.ClrType, method.OutputType.ClrType).Invoke(null, [context, method]);
            }
        }

        if (handlers.Count > 0)
            throw new InvalidOperationException($"gRPC handlers for methods the client package does not define: {string.Join(", ", handlers.Keys)}");
    }

    /// <summary>A handler's binding: checked against the descriptor's message types, wrapped for access and errors.</summary>
    public static Action<ServiceMethodProviderContext<QdrantGrpcService>, MethodDescriptor> Unary<TRequest, TResponse>(CollectionCatalog catalog, Func<TRequest, ServerCallContext, Task<TResponse>> handler)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
        => (context, descriptor) =>
        {
            if (descriptor.InputType.ClrType != typeof(TRequest) || descriptor.OutputType.ClrType != typeof(TResponse))
                throw new InvalidOperationException($"{descriptor.FullName}: handler types do not match the descriptor");
            var fullName = $"{descriptor.Service.FullName}/{descriptor.Name}";
            var collectionField = descriptor.InputType.FindFieldByName("collection_name");
            context.AddUnaryMethod(Method<TRequest, TResponse>(descriptor), [], async (_, request, call) =>
            {
                try
                {
                    GrpcAccess.Authorize(call, catalog, fullName, collectionField?.Accessor.GetValue(request) as string);
                    return await handler(request, call).ConfigureAwait(false);
                }
                catch (QuiverException ex)
                {
                    throw new RpcException(new Status(ErrorMapping.GrpcStatus(ex.Error.Kind), ex.Error.Message));
                }
                catch (JsonException ex)
                {
                    throw new RpcException(new Status(StatusCode.InvalidArgument, $"Format error: {ex.Message}"));
                }
                catch (OperationCanceledException) when (call.CancellationToken.IsCancellationRequested || GrpcCalls.TimedOut(call))
                {
                    throw new RpcException(new Status(GrpcCalls.TimedOut(call) ? StatusCode.DeadlineExceeded : StatusCode.Cancelled, "Timeout error: not finished within the request's timeout or deadline"));
                }
                catch (Exception ex) when (ex is not RpcException and not OperationCanceledException)
                {
                    // A bug, not an outcome: logged, and answered as REST answers one (the message, status Internal).
                    Rest.RestLog.UnhandledError(((ILoggerFactory)call.GetHttpContext().RequestServices.GetService(typeof(ILoggerFactory))!).CreateLogger("Quiver.Grpc"), ex, "gRPC", fullName);
                    throw new RpcException(new Status(StatusCode.Internal, $"Service internal error: {ex.Message}"));
                }
            });
        };

    private static void BindUnimplemented<TRequest, TResponse>(ServiceMethodProviderContext<QdrantGrpcService> context, MethodDescriptor descriptor)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        var message = $"{descriptor.Service.Name}.{descriptor.Name} is not implemented by Quiver yet (the feature behind it does not exist yet)";
        context.AddUnaryMethod(Method<TRequest, TResponse>(descriptor), [], (_, _, _) => throw new RpcException(new Status(StatusCode.Unimplemented, message)));
    }

    private static Method<TRequest, TResponse> Method<TRequest, TResponse>(MethodDescriptor descriptor)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
        => new(MethodType.Unary, descriptor.Service.FullName, descriptor.Name, Marshaller<TRequest>(), Marshaller<TResponse>());

    private static Marshaller<T> Marshaller<T>()
        where T : class, IMessage<T>, new()
    {
        var parser = new MessageParser<T>(() => new T());
        return Marshallers.Create(
            (T message, SerializationContext context) =>
            {
                context.SetPayloadLength(message.CalculateSize());
                message.WriteTo(context.GetBufferWriter());
                context.Complete();
            },
            context => parser.ParseFrom(context.PayloadAsReadOnlySequence()));
    }
}
