using Grpc.Core;
using Quiver.Segment.Errors;

namespace Quiver.Server.Rest;

/// <summary>The one place where error kinds become HTTP and gRPC status codes.</summary>
internal static class ErrorMapping
{
    private static (int Http, StatusCode Grpc) Codes(ErrorKind kind) => kind switch
    {
        ErrorKind.BadInput => (StatusCodes.Status400BadRequest, StatusCode.InvalidArgument),
        ErrorKind.NotFound => (StatusCodes.Status404NotFound, StatusCode.NotFound),
        ErrorKind.Conflict => (StatusCodes.Status409Conflict, StatusCode.AlreadyExists),
        ErrorKind.Timeout => (StatusCodes.Status408RequestTimeout, StatusCode.DeadlineExceeded),
        ErrorKind.Unavailable => (StatusCodes.Status503ServiceUnavailable, StatusCode.Unavailable),
        ErrorKind.PayloadTooLarge => (StatusCodes.Status413PayloadTooLarge, StatusCode.ResourceExhausted),
        ErrorKind.Forbidden => (StatusCodes.Status403Forbidden, StatusCode.PermissionDenied),
        _ => (StatusCodes.Status500InternalServerError, StatusCode.Internal),
    };

    public static int HttpStatus(ErrorKind kind) => Codes(kind).Http;

    public static StatusCode GrpcStatus(ErrorKind kind) => Codes(kind).Grpc;
}
