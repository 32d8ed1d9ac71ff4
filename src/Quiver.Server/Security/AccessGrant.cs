namespace Quiver.Server.Security;

/// <summary>
/// What a request's credential allows: everything (the API key, a JWT with <c>access: "m"</c>), reading everything
/// (the read-only key, <c>access: "r"</c>), or reading, and writing where marked, the listed collections (a JWT
/// with per-collection access). Put on the request's features for handlers that list collections.
/// </summary>
internal sealed class AccessGrant
{
    private AccessGrant(bool manage, bool readAll, IReadOnlyDictionary<string, bool>? collections)
    {
        Manage = manage;
        ReadAll = readAll;
        Collections = collections;
    }

    public static AccessGrant Full { get; } = new(manage: true, readAll: true, collections: null);

    public static AccessGrant ReadOnly { get; } = new(manage: false, readAll: true, collections: null);

    /// <summary>Per-collection access: name to whether it may be written.</summary>
    public static AccessGrant ForCollections(IReadOnlyDictionary<string, bool> collections) => new(manage: false, readAll: false, collections);

    /// <summary>Creating, changing and deleting collections and aliases; every collection, read and write.</summary>
    public bool Manage { get; }

    /// <summary>Reading every collection.</summary>
    public bool ReadAll { get; }

    /// <summary>The collections a scoped grant covers (null for the global grants).</summary>
    public IReadOnlyDictionary<string, bool>? Collections { get; }

    public bool CanRead(string collection) => ReadAll || (Collections?.ContainsKey(collection) ?? false);

    public bool CanWrite(string collection) => Manage || (Collections?.TryGetValue(collection, out var write) == true && write);
}
