using System.Text.Json;

namespace Quiver.Inference;

/// <summary>
/// The models a request may name in <c>Document.model</c>, matched case-insensitively: BM25 (sparse, cheap,
/// built per options) and MiniLM (dense, loaded on first use and then shared). One instance per server.
/// </summary>
public sealed class InferenceModels : IDisposable
{
    private readonly Lock _loading = new();
    private readonly MiniLmOptions? _miniLmOptions;
    private readonly Bm25Encoder _defaultBm25 = new();
    private MiniLmEmbedder? _miniLm;

    /// <param name="miniLmOptions">How to run MiniLM once it is loaded.</param>
    public InferenceModels(MiniLmOptions? miniLmOptions = null)
    {
        _miniLmOptions = miniLmOptions;
    }

    /// <summary>Every accepted model name.</summary>
    public static IReadOnlyList<string> Available { get; } = ["qdrant/bm25", "bm25", MiniLmEmbedder.ModelName];

    /// <summary>
    /// The MiniLM embedder, loaded by the first caller (others wait for that load; see
    /// <see cref="MiniLmEmbedder.Load"/>) and shared after. A failed load is tried again by the next caller.
    /// </summary>
    public MiniLmEmbedder MiniLm
    {
        get
        {
            if (Volatile.Read(ref _miniLm) is { } loaded)
                return loaded;
            lock (_loading)
            {
                if (_miniLm is null)
                    Volatile.Write(ref _miniLm, MiniLmEmbedder.Load(_miniLmOptions));
                return _miniLm;
            }
        }
    }

    /// <summary>Whether MiniLM has been loaded yet.</summary>
    public bool IsMiniLmLoaded => Volatile.Read(ref _miniLm) is not null;

    /// <summary>What <paramref name="model"/> names.</summary>
    /// <exception cref="InferenceInputException">No such model.</exception>
    public static InferenceModelKind Resolve(string model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.Equals("qdrant/bm25", StringComparison.OrdinalIgnoreCase) || model.Equals("bm25", StringComparison.OrdinalIgnoreCase))
            return InferenceModelKind.Bm25;
        if (model.Equals(MiniLmEmbedder.ModelName, StringComparison.OrdinalIgnoreCase))
            return InferenceModelKind.MiniLm;
        throw new InferenceInputException(
            $"Unknown model \"{model}\": available models are qdrant/bm25, {MiniLmEmbedder.ModelName}");
    }

    /// <summary>
    /// The BM25 encoder for a request's <c>Document.options</c>; absent or null options share one default encoder.
    /// </summary>
    /// <exception cref="InferenceInputException">The options are not a valid <c>Bm25Config</c>.</exception>
    public Bm25Encoder Bm25(JsonElement? options = null)
    {
        if (options is not { } json || json.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
            return _defaultBm25;
        return new Bm25Encoder(Bm25Options.Parse(json));
    }

    /// <summary>Disposes MiniLM if it was loaded.</summary>
    public void Dispose()
    {
        lock (_loading)
            _miniLm?.Dispose();
    }
}
