namespace Quiver.Engine.Catalog;

/// <summary>One step of an atomic alias change.</summary>
public abstract record AliasAction
{
    public sealed record Create(string AliasName, string CollectionName) : AliasAction;

    public sealed record Delete(string AliasName) : AliasAction;

    public sealed record Rename(string OldAliasName, string NewAliasName) : AliasAction;
}
