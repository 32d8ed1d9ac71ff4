using System.Text;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;

namespace Quiver.Cluster;

/// <summary>One value of the metadata store and the revision it was written at.</summary>
public sealed record MetadataEntry(string Key, byte[] Value, ulong Revision);

/// <summary>
/// Cluster metadata (collections, aliases, payload index definitions, shard layout) in a JetStream KV bucket.
/// Every change is a compare-and-set on the revision the writer read, so two nodes changing the same key cannot
/// both win: the loser gets null and re-reads. Outcomes are values; only transport failures throw.
/// </summary>
public sealed class JetStreamMetadataStore
{
    private readonly INatsKVStore _store;

    private JetStreamMetadataStore(INatsKVStore store) => _store = store;

    /// <summary>Opens (creating if needed) the bucket, file-backed with <paramref name="replicas"/> replicas.</summary>
    public static async Task<JetStreamMetadataStore> OpenAsync(INatsConnection connection, string bucket = "QUIVER_META", int replicas = 1, CancellationToken cancellationToken = default)
    {
        var kv = new NatsKVContext(new NatsJSContext((NatsConnection)connection));
        var store = await kv.CreateOrUpdateStoreAsync(new NatsKVConfig(bucket) { History = 5, NumberOfReplicas = replicas, Storage = NatsKVStorageType.File }, cancellationToken).ConfigureAwait(false);
        return new JetStreamMetadataStore(store);
    }

    /// <summary>
    /// A key from path parts (e.g. <c>collections</c>, a name): KV keys take only letters, digits and <c>-_=/.</c>,
    /// so any other character of a part (and the separator <c>.</c> itself) is written as <c>=XX</c> hex escapes.
    /// </summary>
    public static string Key(params string[] parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        var sb = new StringBuilder();
        foreach (var part in parts)
        {
            if (sb.Length > 0)
                sb.Append('.');
            foreach (var b in Encoding.UTF8.GetBytes(part))
            {
                var c = (char)b;
                if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '/')
                    sb.Append(c);
                else
                    sb.Append('=').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return sb.ToString();
    }

    /// <summary>The text a one-part <see cref="Key"/> was made from (its <c>=XX</c> escapes decoded).</summary>
    public static string Unescape(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var bytes = new List<byte>(key.Length);
        for (var i = 0; i < key.Length; i++)
        {
            if (key[i] == '=' && i + 2 < key.Length
                && byte.TryParse(key.AsSpan(i + 1, 2), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture, out var b))
            {
                bytes.Add(b);
                i += 2;
            }
            else
            {
                bytes.Add((byte)key[i]);
            }
        }

        return Encoding.UTF8.GetString([.. bytes]);
    }

    /// <summary>
    /// The current value, or null when the key does not exist (or was deleted). Any other failure (NATS unreachable,
    /// no leader) throws: "cannot tell" must never read as "deleted".
    /// </summary>
    public async ValueTask<MetadataEntry?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        var result = await _store.TryGetEntryAsync<byte[]>(key, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (result.Success)
            return result.Value.Value is { } value ? new MetadataEntry(key, value, result.Value.Revision) : null;
        return result.Error is NatsKVKeyNotFoundException or NatsKVKeyDeletedException ? null : throw result.Error;
    }

    /// <summary>Creates the key; its revision, or null when it already exists.</summary>
    public async ValueTask<ulong?> CreateAsync(string key, byte[] value, CancellationToken cancellationToken = default)
    {
        var result = await _store.TryCreateAsync(key, value, cancellationToken: cancellationToken).ConfigureAwait(false);
        return result.Success ? result.Value : null;
    }

    /// <summary>Replaces the value if the key is still at <paramref name="expectedRevision"/>; the new revision, or null if another write came first.</summary>
    public async ValueTask<ulong?> UpdateAsync(string key, byte[] value, ulong expectedRevision, CancellationToken cancellationToken = default)
    {
        var result = await _store.TryUpdateAsync(key, value, expectedRevision, cancellationToken: cancellationToken).ConfigureAwait(false);
        return result.Success ? result.Value : null;
    }

    /// <summary>Deletes the key if it is still at <paramref name="expectedRevision"/>; false if another write came first.</summary>
    public async ValueTask<bool> DeleteAsync(string key, ulong expectedRevision, CancellationToken cancellationToken = default)
    {
        var result = await _store.TryDeleteAsync(key, new NatsKVDeleteOpts { Revision = expectedRevision }, cancellationToken).ConfigureAwait(false);
        return result.Success;
    }

    /// <summary>The existing keys under a prefix (<c>collections.</c>), in no particular order.</summary>
    public async ValueTask<IReadOnlyList<string>> KeysAsync(string prefix, CancellationToken cancellationToken = default)
    {
        var keys = new List<string>();
        try
        {
            await foreach (var key in _store.GetKeysAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                if (key.StartsWith(prefix, StringComparison.Ordinal))
                    keys.Add(key);
            }
        }
        catch (NatsKVException) when (keys.Count == 0)
        {
            // An empty bucket: nothing to list.
        }

        return keys;
    }
}
