namespace Quiver.Inference;

/// <summary>How <see cref="MiniLmEmbedder"/> uses the machine.</summary>
public sealed record MiniLmOptions
{
    /// <summary>Threads ONNX Runtime uses inside one batch.</summary>
    public int IntraOpThreads { get; init; } = Environment.ProcessorCount;

    /// <summary>
    /// Batches that may run at once, over all callers. One is right when <see cref="IntraOpThreads"/> already
    /// fills the cores: a second batch would only compete for them.
    /// </summary>
    public int MaxConcurrency { get; init; } = 1;

    /// <summary>Texts per batch; each batch is padded to its longest text.</summary>
    public int MaxBatchSize { get; init; } = 32;
}
