namespace Quiver.Server.Tests.Infrastructure;

public static class RepoPaths
{
    /// <summary>The repository root: the first parent of the test binaries holding Quiver.slnx.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>../shared/data beside the repository (datasets with ground truth).</summary>
    public static string SharedData => Path.GetFullPath(Path.Combine(Root, "..", "shared", "data"));

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Quiver.slnx")))
                return dir.FullName;
        }

        throw new InvalidOperationException("Quiver.slnx not found above " + AppContext.BaseDirectory);
    }
}
