namespace Quiver.Engine.Query;

/// <summary>Which payload to return: none, all, only some keys, or all but some keys.</summary>
public sealed record WithPayload(bool Enabled, IReadOnlyList<string>? Include = null, IReadOnlyList<string>? Exclude = null)
{
    public static WithPayload All { get; } = new(true);

    public static WithPayload None { get; } = new(false);
}

/// <summary>Which vectors to return: none, all, or the named ones.</summary>
public sealed record WithVector(bool Enabled, IReadOnlyList<string>? Names = null)
{
    public static WithVector All { get; } = new(true);

    public static WithVector None { get; } = new(false);

    public bool Includes(string name) => Enabled && (Names is null || Names.Contains(name));
}
