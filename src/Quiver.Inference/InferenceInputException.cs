namespace Quiver.Inference;

/// <summary>
/// A request asked for inference that cannot be done as asked: an unknown model, or model options with an
/// unknown field or a bad value. The message names the model or the field, so a server can return it to the
/// client as a 400 as it is.
/// </summary>
public sealed class InferenceInputException : Exception
{
    public InferenceInputException()
    {
    }

    public InferenceInputException(string message)
        : base(message)
    {
    }

    public InferenceInputException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for one option field.</summary>
    public InferenceInputException(string message, string? field)
        : base(message)
    {
        Field = field;
    }

    /// <summary>The option field at fault (for example <c>stemmer.language</c>), when there is one.</summary>
    public string? Field { get; }
}
