using Quiver.Segment.Errors;

namespace Quiver.Ingest.Internal;

/// <summary>
/// Settings as flattened keys (<c>nats:url</c>), from a configuration section or a JSON body: the known-key check
/// and lookups the connector and change-stream definitions share.
/// </summary>
internal sealed class FlatSettings(IReadOnlyDictionary<string, string?> values, string[] knownKeys, Func<string, QuiverException> bad)
{
    /// <summary>Refuses unknown keys (a misspelt setting is never silently ignored) and values given to sections.</summary>
    public void CheckKeys()
    {
        foreach (var (key, value) in values)
        {
            if (knownKeys.Contains(key, StringComparer.OrdinalIgnoreCase))
                continue;
            if (knownKeys.Any(k => k.StartsWith(key + ":", StringComparison.OrdinalIgnoreCase)))
            {
                if (!string.IsNullOrEmpty(value))
                    throw bad($"`{Dotted(key)}` is a section: expected an object of settings, got '{value}'");
                continue;
            }

            throw bad($"unknown setting `{Dotted(key)}`; known: {string.Join(", ", knownKeys.Select(Dotted))}");
        }
    }

    /// <summary>A setting's value, or null when it is absent or empty.</summary>
    public string? Get(string key) =>
        values.FirstOrDefault(kv => string.Equals(kv.Key, key, StringComparison.OrdinalIgnoreCase)).Value is { Length: > 0 } v ? v : null;

    public static string Dotted(string key) => key.Replace(':', '.');
}
