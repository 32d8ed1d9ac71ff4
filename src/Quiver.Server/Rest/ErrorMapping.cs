using Quiver.Segment.Errors;

namespace Quiver.Server.Rest;

/// <summary>The one place where error kinds become HTTP status codes.</summary>
internal static class ErrorMapping
{
    public static int HttpStatus(ErrorKind kind) => kind switch
    {
        ErrorKind.BadInput => StatusCodes.Status400BadRequest,
        ErrorKind.NotFound => StatusCodes.Status404NotFound,
        ErrorKind.Conflict => StatusCodes.Status409Conflict,
        ErrorKind.Timeout => StatusCodes.Status408RequestTimeout,
        ErrorKind.Unavailable => StatusCodes.Status503ServiceUnavailable,
        ErrorKind.PayloadTooLarge => StatusCodes.Status413PayloadTooLarge,
        _ => StatusCodes.Status500InternalServerError,
    };
}
