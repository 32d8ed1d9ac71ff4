using System.Text.Json;
using Quiver.Inference;
using Quiver.Segment.Errors;
using Quiver.Segment.Points;

namespace Quiver.Server.Inference;

/// <summary>Whether documents are embedded as stored points or as queries (BM25 weighs the two differently).</summary>
internal enum DocumentRole
{
    Stored,
    Query,
}

/// <summary>
/// Server-side inference: a request may give a document (<c>{"text", "model", "options"}</c>) wherever it gives a
/// vector. Before a request is parsed, every document in it is found and embedded in batches (one model call per
/// model, not one per point); the parsers then take each document's vector from the result.
/// </summary>
internal sealed class DocumentInference(InferenceModels models)
{
    /// <summary>Subtrees that hold user data or conditions, never documents.</summary>
    private static readonly HashSet<string> NotVectors = new(StringComparer.Ordinal) { "payload", "payloads", "filter", "with_payload", "params" };

    public InferenceModels Models => models;

    /// <summary>The vectors of every document in <paramref name="body"/>, or null when it has none.</summary>
    public async ValueTask<DocumentVectors?> ResolveAsync(JsonElement body, DocumentRole role, CancellationToken cancellationToken)
    {
        var found = new List<JsonElement>();
        Collect(body, found, insideVector: false);
        if (found.Count == 0)
            return null;

        var vectors = new Dictionary<string, object>(StringComparer.Ordinal);
        var dense = new List<(string Key, string Text)>();
        var denseKeys = new HashSet<string>(StringComparer.Ordinal);
        // One encoder per distinct options object: building one loads stop words and a stemmer.
        var encoders = new Dictionary<string, Bm25Encoder>(StringComparer.Ordinal);
        foreach (var document in found)
        {
            var (text, model, options) = Read(document);
            var key = DocumentVectors.Key(role, document);
            if (vectors.ContainsKey(key) || denseKeys.Contains(key))
                continue;
            try
            {
                switch (InferenceModels.Resolve(model))
                {
                    case InferenceModelKind.Bm25:
                        var optionsKey = options?.GetRawText() ?? string.Empty;
                        if (!encoders.TryGetValue(optionsKey, out var encoder))
                            encoders[optionsKey] = encoder = models.Bm25(options);
                        var sparse = role == DocumentRole.Query ? encoder.EncodeQuery(text) : encoder.EncodeDocument(text);
                        vectors[key] = SparseVector.Create(sparse.Indices, sparse.Values);
                        break;
                    default:
                        dense.Add((key, text));
                        denseKeys.Add(key);
                        break;
                }
            }
            catch (InferenceInputException e)
            {
                throw QuiverException.BadInput($"Wrong input: {e.Message}");
            }
        }

        if (dense.Count > 0)
        {
            // The first use loads the model (tens of MB): off the request thread.
            var embedder = models.IsMiniLmLoaded ? models.MiniLm : await Task.Run(() => models.MiniLm, cancellationToken).ConfigureAwait(false);
            var embedded = await embedder.EmbedAsync([.. dense.Select(d => d.Text)], cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < dense.Count; i++)
                vectors[dense[i].Key] = embedded[i];
        }

        return new DocumentVectors(role, vectors);
    }

    /// <summary>A document's fields; a document without a model or with a non-string text is refused.</summary>
    private static (string Text, string Model, JsonElement? Options) Read(JsonElement document)
    {
        if (!document.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String)
            throw QuiverException.BadInput("Wrong input: a document's `text` must be a string");
        if (!document.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.String)
            throw QuiverException.BadInput($"Wrong input: a document needs a `model`; available models are {string.Join(", ", InferenceModels.Available)}");
        JsonElement? options = document.TryGetProperty("options", out var o) && o.ValueKind != JsonValueKind.Null ? o : null;
        return (text.GetString()!, model.GetString()!, options);
    }

    /// <summary>
    /// Finds documents. Outside vectors, the subtrees that hold user data or conditions (payloads, filters) are not
    /// searched; inside a point's vectors every name is a vector name, even "payload" or "filter".
    /// </summary>
    private static void Collect(JsonElement element, List<JsonElement> found, bool insideVector)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                if (DocumentVectors.IsDocument(element))
                {
                    found.Add(element);
                    return;
                }

                foreach (var property in element.EnumerateObject())
                {
                    if (insideVector)
                        Collect(property.Value, found, true);
                    else if (!NotVectors.Contains(property.Name))
                        Collect(property.Value, found, property.Name is "vector" or "vectors");
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    // Arrays of numbers (dense vectors) hold no documents: skip them without walking every number.
                    if (item.ValueKind is JsonValueKind.Number)
                        return;
                    Collect(item, found, insideVector);
                }

                break;
            default:
                break;
        }
    }
}

/// <summary>The vectors of a request's documents, by document (text, model and options).</summary>
internal sealed class DocumentVectors(DocumentRole role, Dictionary<string, object> vectors)
{
    /// <summary>Qdrant's <c>Document</c>: a string <c>text</c> and a <c>model</c> (see <see cref="Quiver.Engine.Operations.PointJson.IsDocument"/>).</summary>
    public static bool IsDocument(JsonElement element) => Quiver.Engine.Operations.PointJson.IsDocument(element);

    public static string Key(DocumentRole role, JsonElement document)
    {
        var model = document.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()!.ToLowerInvariant() : string.Empty;
        var options = document.TryGetProperty("options", out var o) ? o.GetRawText() : string.Empty;
        var text = document.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : string.Empty;
        return $"{role}\u0000{model}\u0000{options}\u0000{text}";
    }

    /// <summary>The vector inferred for <paramref name="document"/>, as the named vector <paramref name="name"/>.</summary>
    public NamedVector Vector(string name, JsonElement document, string path)
    {
        if (!vectors.TryGetValue(Key(role, document), out var vector))
            throw QuiverException.BadInput($"Wrong input: {path}: a document needs a string `text` and a `model`");
        return vector is SparseVector sparse ? NamedVector.OfSparse(name, sparse) : new NamedVector(name, (float[])vector);
    }

    /// <summary>The document as a query: dense or sparse by its model.</summary>
    public Quiver.Engine.Query.NearestQuery Query(JsonElement document, string path)
    {
        var vector = Vector(string.Empty, document, path);
        return vector.IsSparse ? new Quiver.Engine.Query.NearestQuery(null, null, vector.Sparse) : new Quiver.Engine.Query.NearestQuery(vector.Values, null);
    }
}
