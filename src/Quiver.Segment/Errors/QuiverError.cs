namespace Quiver.Segment.Errors;

/// <summary>The kinds of expected failure. Transports map each to a status code in exactly one place.</summary>
public enum ErrorKind
{
    BadInput,
    NotFound,
    Conflict,
    Timeout,
    Unavailable,
    PayloadTooLarge,

    /// <summary>The caller's key or token does not grant access to something the request reaches.</summary>
    Forbidden,
}

/// <summary>An expected failure, carried as a value.</summary>
public sealed record QuiverError(ErrorKind Kind, string Message)
{
    public static QuiverError BadInput(string message) => new(ErrorKind.BadInput, message);

    public static QuiverError NotFound(string message) => new(ErrorKind.NotFound, message);

    public static QuiverError Conflict(string message) => new(ErrorKind.Conflict, message);

    public static QuiverError Unavailable(string message) => new(ErrorKind.Unavailable, message);

    public static QuiverError Forbidden(string message) => new(ErrorKind.Forbidden, message);
}

/// <summary>
/// Thrown deep inside parsers and validators where unwinding by hand would obscure the code;
/// caught and turned into a <see cref="QuiverError"/> value at the service boundary.
/// </summary>
public sealed class QuiverException : Exception
{
    public QuiverException(QuiverError error)
        : base(error.Message) => Error = error;

    public QuiverException()
        : this(QuiverError.BadInput("bad input"))
    {
    }

    public QuiverException(string message)
        : this(QuiverError.BadInput(message))
    {
    }

    public QuiverException(string message, Exception innerException)
        : base(message, innerException) => Error = QuiverError.BadInput(message);

    public QuiverError Error { get; }

    public static QuiverException BadInput(string message) => new(QuiverError.BadInput(message));

    public static QuiverException NotFound(string message) => new(QuiverError.NotFound(message));

    public static QuiverException Unavailable(string message) => new(QuiverError.Unavailable(message));
}
