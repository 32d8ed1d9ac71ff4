using System.Globalization;
using Quiver.Engine.Query;

namespace Quiver.Server.Cluster;

/// <summary>
/// Read-your-writes across nodes: a write answers with header <see cref="WriteHeader"/> (per shard, the log
/// sequence it reached: <c>incarnation/shard:sequence,...</c>); a read that sends it back as
/// <see cref="ReadAfterHeader"/> is answered only by replicas that applied at least those sequences (they wait for
/// them). A token of an earlier incarnation (the collection was resharded since) is already satisfied: every record
/// of the old logs was copied into the new ones before they took over.
/// </summary>
internal static class WriteToken
{
    public const string WriteHeader = "x-quiver-write-token";

    public const string ReadAfterHeader = "x-quiver-read-after";

    /// <summary>Sets the write's token on the response (nothing for a write that touched no shard).</summary>
    public static void Set(HttpContext http, WriteReceipt receipt)
    {
        var parts = receipt.ShardSequences
            .Select((sequence, shard) => (shard, sequence))
            .Where(p => p.sequence > 0)
            .Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.shard}:{p.sequence}"));
        var token = string.Join(',', parts);
        if (token.Length > 0)
            http.Response.Headers[WriteHeader] = receipt.Incarnation is { } incarnation ? $"{incarnation}/{token}" : token;
    }

    /// <summary>Parses a token (several tokens may be joined with commas: the highest sequence per shard counts).</summary>
    public static bool TryParse(string text, out string? incarnation, out Dictionary<int, ulong> sequences)
    {
        sequences = [];
        incarnation = null;
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            incarnation = text[..slash];
            text = text[(slash + 1)..];
        }

        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var colon = part.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0
                || !int.TryParse(part.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out var shard)
                || !ulong.TryParse(part.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var sequence))
            {
                return false;
            }

            sequences[shard] = Math.Max(sequence, sequences.GetValueOrDefault(shard));
        }

        return true;
    }
}
