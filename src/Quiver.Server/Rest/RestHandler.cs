using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Quiver.Segment.Errors;

namespace Quiver.Server.Rest;

/// <summary>A request as handlers see it: its parsed body (if any) and typed query parameters.</summary>
internal sealed class RestRequest(HttpContext http, JsonElement body) : IDisposable
{
    private CancellationTokenSource? _deadline;
    private int _timeoutSeconds;

    public HttpContext Http { get; } = http;

    public JsonElement Body { get; } = body;

    public CancellationToken Aborted => Http.RequestAborted;

    /// <summary>
    /// Cancelled when the client goes away or, with <c>timeout=N</c>, after N seconds; a handler that stops on it
    /// because of the timeout is answered 408. Writes use it only while they wait to become visible: what reached
    /// the log is applied anyway.
    /// </summary>
    public CancellationToken Cancellation
    {
        get
        {
            if (_deadline is not null)
                return _deadline.Token;
            if (QueryInt("timeout", 1) is not { } seconds)
                return Aborted;
            _timeoutSeconds = seconds;
            _deadline = CancellationTokenSource.CreateLinkedTokenSource(Aborted);
            _deadline.CancelAfter(TimeSpan.FromSeconds(seconds));
            return _deadline.Token;
        }
    }

    /// <summary>The <c>timeout</c> passed (and the client is still there).</summary>
    public bool TimedOut => _deadline is { IsCancellationRequested: true } && !Aborted.IsCancellationRequested;

    public int TimeoutSeconds => _timeoutSeconds;

    public void Dispose() => _deadline?.Dispose();

    public bool Wait => QueryBool("wait") ?? false;

    /// <summary>Set by a handler that started its work in the background: answered 202 <c>accepted</c>, no result.</summary>
    public bool Accepted { get; set; }

    public bool? QueryBool(string name)
    {
        if (!Http.Request.Query.TryGetValue(name, out var values))
            return null;
        return values.ToString() switch
        {
            "true" => true,
            "false" => false,
            var other => throw QuiverException.BadInput($"Query deserialize error: {name}: expected true or false, got `{other}`"),
        };
    }

    public int? QueryInt(string name, int min)
    {
        if (!Http.Request.Query.TryGetValue(name, out var values))
            return null;
        if (!int.TryParse(values.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < min)
            throw QuiverException.BadInput($"Query deserialize error: {name}: expected an integer >= {min}, got `{values}`");
        return n;
    }

    /// <summary>
    /// Checks a point write's query parameters (<c>wait</c>, <c>ordering</c>, <c>timeout</c>) before anything is
    /// applied, so a malformed one refuses the write instead of being half-used.
    /// </summary>
    public void ValidateWriteParameters()
    {
        _ = Wait;
        ValidateOrdering();
        QueryInt("timeout", 1);
    }

    /// <summary>Checks <c>ordering</c>; on a single node every ordering is already strong.</summary>
    public void ValidateOrdering()
    {
        if (Http.Request.Query.TryGetValue("ordering", out var values) && values.ToString() is not ("weak" or "medium" or "strong"))
            throw QuiverException.BadInput($"Query deserialize error: ordering: expected weak, medium or strong, got `{values}`");
    }
}

/// <summary>
/// Runs a REST handler inside Qdrant's envelope: reads and parses the body (bounded size and depth), times the
/// call, writes <c>{"result":...,"status":"ok","time":...}</c>, and turns every expected failure into the error
/// envelope with the right status code. A handler returns a writer for its <c>result</c> value.
/// </summary>
internal static class RestHandler
{
    private const int MaxJsonDepth = 64;

    // Relaxed escaping keeps messages readable (backticks, quotes); responses are JSON, never embedded in HTML.
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        MaxDepth = 256,
    };

    public delegate ValueTask<Action<Utf8JsonWriter>> Handler(RestRequest request);

    public static async Task RunAsync(HttpContext http, bool hasBody, Handler handler)
    {
        var started = Stopwatch.GetTimestamp();
        JsonDocument? doc = null;
        RestRequest? request = null;
        try
        {
            JsonElement body = default;
            if (hasBody)
            {
                doc = await ReadBodyAsync(http).ConfigureAwait(false);
                body = doc.RootElement;
            }

            request = new RestRequest(http, body);
            var writeResult = await handler(request).ConfigureAwait(false);
            if (request.Accepted)
            {
                await WriteAsync(http, StatusCodes.Status202Accepted, started, w => w.WriteString("status", "accepted")).ConfigureAwait(false);
                return;
            }

            await WriteAsync(http, StatusCodes.Status200OK, started, w =>
            {
                w.WritePropertyName("result");
                writeResult(w);
                w.WriteString("status", "ok");
            }).ConfigureAwait(false);
        }
        catch (QuiverException ex)
        {
            await WriteErrorAsync(http, ErrorMapping.HttpStatus(ex.Error.Kind), ex.Error.Message, started).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            await WriteErrorAsync(http, StatusCodes.Status400BadRequest, $"Format error in JSON body: {Describe(ex)}", started).ConfigureAwait(false);
        }
        catch (BadHttpRequestException ex)
        {
            var message = ex.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? $"Payload too large: request body exceeds the limit of {http.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize} bytes (service.max_request_size_mb)"
                : ex.Message;
            await WriteErrorAsync(http, ex.StatusCode, message, started).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (request?.TimedOut == true)
        {
            await WriteErrorAsync(http, ErrorMapping.HttpStatus(ErrorKind.Timeout),
                $"Timeout error: not finished within the request's timeout of {request.TimeoutSeconds} s (a write that was accepted is still applied)", started).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nothing to answer.
        }
#pragma warning disable CA1031 // The last line of defence: a bug still gets the error envelope, and is logged.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            var logger = http.RequestServices.GetService(typeof(ILoggerFactory)) is ILoggerFactory factory
                ? factory.CreateLogger("Quiver.Rest")
                : NullLogger.Instance;
            RestLog.UnhandledError(logger, ex, http.Request.Method, http.Request.Path.Value ?? string.Empty);
            await WriteErrorAsync(http, StatusCodes.Status500InternalServerError, $"Service internal error: {ex.Message}", started).ConfigureAwait(false);
        }
        finally
        {
            request?.Dispose();
            doc?.Dispose();
        }
    }

    private static async Task<JsonDocument> ReadBodyAsync(HttpContext http)
    {
        var request = http.Request;
        // JSON bodies only: a browser may send a cross-site text/plain or form POST without a preflight, and such a
        // request must not reach a handler (no CSRF, CORS or not). Qdrant refuses them too.
        if (!IsJson(request.ContentType))
            throw QuiverException.BadInput($"Content type error: expected `application/json`, got `{request.ContentType ?? "none"}`");
        if (request.ContentLength == 0)
            throw QuiverException.BadInput("Format error in JSON body: the request body is empty; expected a JSON object");
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, http.RequestAborted).ConfigureAwait(false);
        if (buffer.Length == 0)
            throw QuiverException.BadInput("Format error in JSON body: the request body is empty; expected a JSON object");
        // The JSON reader checks UTF-8 only in the strings a handler reads: bytes it never decodes (an unknown field,
        // a payload stored as it came) would be accepted broken, so the whole body is checked once here.
        if (!System.Text.Unicode.Utf8.IsValid(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)))
            throw QuiverException.BadInput("Format error in JSON body: the body is not valid UTF-8");
        var doc = JsonDocument.Parse(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), new JsonDocumentOptions { MaxDepth = MaxJsonDepth });
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
        {
            doc.Dispose();
            throw QuiverException.BadInput("Format error in JSON body: expected a JSON object");
        }

        return doc;
    }

    private static bool IsJson(string? contentType) =>
        Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out var media)
        && (media.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || media.MediaType.Value?.EndsWith("+json", StringComparison.OrdinalIgnoreCase) == true);

    private static string Describe(JsonException ex) =>
        ex.Message.Contains("maximum configured depth", StringComparison.OrdinalIgnoreCase)
            ? $"nesting is deeper than the maximum of {MaxJsonDepth} levels"
            : ex.Message;

    public static Task WriteErrorAsync(HttpContext http, int status, string message, long started) =>
        WriteAsync(http, status, started, w =>
        {
            w.WriteStartObject("status");
            w.WriteString("error", message);
            w.WriteEndObject();
        });

    private static async Task WriteAsync(HttpContext http, int status, long started, Action<Utf8JsonWriter> body)
    {
        if (http.Response.HasStarted)
            return;
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        await using (var w = new Utf8JsonWriter(http.Response.BodyWriter, WriterOptions))
        {
            w.WriteStartObject();
            body(w);
            w.WriteNumber("time", Stopwatch.GetElapsedTime(started).TotalSeconds);
            w.WriteEndObject();
        }

        await http.Response.BodyWriter.FlushAsync(http.RequestAborted).ConfigureAwait(false);
    }
}

internal static partial class RestLog
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Error, Message = "Unhandled error in {Method} {Path}")]
    public static partial void UnhandledError(ILogger logger, Exception exception, string method, string path);
}
