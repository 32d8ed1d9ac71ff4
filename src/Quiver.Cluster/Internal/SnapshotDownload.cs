using NATS.Client.ObjectStore;
using NATS.Client.ObjectStore.Models;

namespace Quiver.Cluster.Internal;

/// <summary>
/// Reads the newest version of a snapshot from the object store into a file while another node may be replacing it.
/// </summary>
/// <remarks>
/// Storing a new version purges the old version's chunks. A read that began on the old version then receives no more
/// chunks, and the client's get waits for them forever. So each attempt is cancelled once no chunk has arrived for
/// the stall timeout, and the next attempt reads the metadata again, which names the new version. (A cancelled
/// attempt's consumer is removed by the server once it is idle.)
/// </remarks>
internal static class SnapshotDownload
{
    public static readonly TimeSpan DefaultStallTimeout = TimeSpan.FromSeconds(5);

    public const int DefaultAttempts = 12;

    /// <summary>
    /// Writes the object to <paramref name="file"/> (replacing it) and returns the metadata of the version written;
    /// <paramref name="retrying"/> hears why each attempt that stalled or was cut short is started over.
    /// </summary>
    /// <exception cref="TimeoutException">Every attempt stalled.</exception>
    /// <exception cref="NatsObjNotFoundException">The object does not exist (or was deleted meanwhile).</exception>
    /// <exception cref="NatsObjException">The version read is damaged (its digest or size is wrong and it was not replaced).</exception>
    public static async Task<ObjectMetadata> GetAsync(
        INatsObjStore store, string key, string file, TimeSpan stallTimeout, int attempts, Action<string>? retrying, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentOutOfRangeException.ThrowIfLessThan(attempts, 1);
        for (var attempt = 1; ; attempt++)
        {
            var version = (await store.GetInfoAsync(key, cancellationToken: cancellationToken).ConfigureAwait(false)).Nuid;
            string reason;
            using (var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                stall.CancelAfter(stallTimeout);
                try
                {
                    await using var output = new StallWatch(File.Create(file), stall, stallTimeout);
                    return await store.GetAsync(key, output, leaveOpen: true, stall.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    reason = $"no chunk arrived for {stallTimeout.TotalMilliseconds:F0} ms";
                }
                catch (NatsObjException ex) when (ex is not NatsObjNotFoundException)
                {
                    // Cut short by a replacement (its chunks purged mid-read), or damaged: only the first is worth another read.
                    if ((await store.GetInfoAsync(key, cancellationToken: cancellationToken).ConfigureAwait(false)).Nuid == version)
                        throw;
                    reason = ex.Message;
                }
            }

            if (attempt >= attempts)
                throw new TimeoutException($"snapshot {key}: {attempts} reads stalled or were cut short ({reason}); it is being replaced faster than it can be read, or the object store is unavailable");
            retrying?.Invoke(reason);
        }
    }

    /// <summary>A write-only stream that pushes its stall timer back on every write.</summary>
    private sealed class StallWatch(Stream inner, CancellationTokenSource stall, TimeSpan stallTimeout) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            inner.Write(buffer);
            stall.CancelAfter(stallTimeout);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
            stall.CancelAfter(stallTimeout);
        }

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                inner.Dispose();
            base.Dispose(disposing);
        }

        public override async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync().ConfigureAwait(false);
            await base.DisposeAsync().ConfigureAwait(false);
        }
    }
}
