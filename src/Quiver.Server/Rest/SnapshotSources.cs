using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;
using Quiver.Engine.Snapshots;
using Quiver.Segment.Errors;

namespace Quiver.Server.Rest;

/// <summary>
/// Where a snapshot to recover comes from: a <c>file://</c> path inside the snapshots folder, an <c>http(s)://</c>
/// URL (downloaded to the folder first), or a multipart upload (streamed to the folder, never held in memory).
/// </summary>
internal static class SnapshotSources
{
    // No redirects: the api_key header would follow them to any host. The download itself may take long (it is
    // as large as the collection); only connecting is bounded.
    private static readonly HttpClient Http = new(new SocketsHttpHandler { AllowAutoRedirect = false, ConnectTimeout = TimeSpan.FromSeconds(30) })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    /// <summary>A snapshot file ready to read, removed on dispose when it was received for this request.</summary>
    public sealed class Received(string path, bool temporary) : IDisposable
    {
        public string Path { get; } = path;

        public void Dispose()
        {
            if (temporary)
                File.Delete(Path);
        }
    }

    public static async ValueTask<Received> FromLocationAsync(SnapshotStore store, string location, string? apiKey, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(location, UriKind.Absolute, out var uri))
            throw QuiverException.BadInput($"Wrong input: snapshot location `{location}` is not an absolute URL (file://, http:// or https://)");
        if (uri.IsFile)
        {
            // Only the snapshots folder, and no links out of it: a recovery request must not become a way to read
            // any file the server can.
            var path = System.IO.Path.GetFullPath(uri.LocalPath);
            if (!path.StartsWith(store.Root + System.IO.Path.DirectorySeparatorChar, StringComparison.Ordinal) || LinksOut(store.Root, path))
                throw QuiverException.BadInput($"Wrong input: snapshot file `{uri.LocalPath}` is not inside the snapshots folder (storage.snapshots_path); copy it there or upload it");
            return File.Exists(path)
                ? new Received(path, temporary: false)
                : throw QuiverException.NotFound($"Not found: snapshot file `{uri.LocalPath}` does not exist");
        }

        if (uri.Scheme is not ("http" or "https"))
            throw QuiverException.BadInput($"Wrong input: snapshot location scheme `{uri.Scheme}` is not supported; use file://, http:// or https://");
        var target = store.IncomingPath();
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            if (apiKey is not null)
                request.Headers.Add("api-key", apiKey);
            using var response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
                throw QuiverException.BadInput($"Wrong input: downloading the snapshot from {uri} failed: HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
            var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using (body.ConfigureAwait(false))
                await SaveAsync(body, target, cancellationToken).ConfigureAwait(false);
            return new Received(target, temporary: true);
        }
        catch (HttpRequestException ex)
        {
            File.Delete(target);
            throw QuiverException.BadInput($"Wrong input: downloading the snapshot from {uri} failed: {ex.Message}");
        }
        catch
        {
            File.Delete(target);
            throw;
        }
    }

    /// <summary>Whether any part of <paramref name="path"/> below <paramref name="root"/> is a symbolic link.</summary>
    private static bool LinksOut(string root, string path)
    {
        for (var current = path; current.Length > root.Length; current = System.IO.Path.GetDirectoryName(current)!)
        {
            FileSystemInfo info = Directory.Exists(current) ? new DirectoryInfo(current) : new FileInfo(current);
            if (info.Exists && info.LinkTarget is not null)
                return true;
        }

        return false;
    }

    /// <summary>Streams the <c>snapshot</c> part of a multipart/form-data body to the snapshots folder.</summary>
    public static async ValueTask<Received> FromUploadAsync(SnapshotStore store, HttpContext http)
    {
        if (!MediaTypeHeaderValue.TryParse(http.Request.ContentType, out var media)
            || !media.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase)
            || HeaderUtilities.RemoveQuotes(media.Boundary).Value is not { Length: > 0 and <= 200 } boundary)
        {
            throw QuiverException.BadInput($"Content type error: expected `multipart/form-data` with a boundary and a `snapshot` file part, got `{http.Request.ContentType ?? "none"}`");
        }

        // A snapshot is as large as the collection: the request-size limit is for JSON bodies.
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            limit.MaxRequestBodySize = null;
        var reader = new MultipartReader(boundary, http.Request.Body);
        var target = store.IncomingPath();
        try
        {
            while (await reader.ReadNextSectionAsync(http.RequestAborted).ConfigureAwait(false) is { } section)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)
                    || HeaderUtilities.RemoveQuotes(disposition.Name).Value != "snapshot")
                {
                    continue;
                }

                await SaveAsync(section.Body, target, http.RequestAborted).ConfigureAwait(false);
                return new Received(target, temporary: true);
            }
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException && !http.RequestAborted.IsCancellationRequested)
        {
            File.Delete(target);
            throw QuiverException.BadInput($"Format error in multipart body: {ex.Message}");
        }
        catch
        {
            File.Delete(target);
            throw;
        }

        throw QuiverException.BadInput("Wrong input: the multipart body has no `snapshot` file part");
    }

    private static async ValueTask SaveAsync(Stream body, string target, CancellationToken cancellationToken)
    {
        var file = new FileStream(target, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
        await using (file.ConfigureAwait(false))
            await body.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
    }
}
