using System.Globalization;
using Quiver.Index.Quantization;
using Quiver.Segment.Segments;
using Quiver.Storage.Files;

namespace Quiver.Engine.Shards;

/// <summary>
/// Scalar codes of indexed segments: built with each segment's graph, written beside it as
/// <c>seg-{id}-{space}.codes</c>, and rebuilt in the background (the segment serving on its vectors meanwhile) when
/// a collection's quantization_config changes or a file is missing. Codes are derived data: a snapshot leaves them
/// out and a restored segment gets them again.
/// </summary>
internal sealed partial class Shard
{
    private const string ScalarCodesKind = "QSQC";
    private const string BinaryCodesKind = "QBQC";
    private const string ProductCodesKind = "QPQC";

    /// <summary>The kind of job that brings a segment's codes in line with the quantization settings.</summary>
    private const string QuantizeKind = "quantization";

    private static string CodesPath(string directory, long id, int space) =>
        Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $"seg-{id}-{space}.codes"));

    /// <summary>Builds and attaches the codes of every indexed space of a sealed segment that takes quantization.</summary>
    private QuantizedCodes?[] BuildCodes(PointSegment segment, ShardIndexing indexing)
    {
        var codes = new QuantizedCodes?[_spaces.Count];
        for (var s = 0; s < _spaces.Count; s++)
        {
            if (segment.Graph(s) is null || indexing.Space(s).Quantization is not { } settings || segment.VectorCount(s) == 0)
                continue;
            codes[s] = Build(segment, s, settings);
            segment.AttachCodes(s, codes[s]!);
        }

        return codes;
    }

    private QuantizedCodes Build(PointSegment segment, int space, Collections.QuantizationSettings settings) => settings.Kind switch
    {
        Collections.QuantizationKind.Binary => segment.BuildBinaryCodes(space, settings.Encoding, settings.AsymmetricQuery, _stopping.Token),
        Collections.QuantizationKind.Product => segment.BuildProductCodes(
            space, ProductQuantizer.SubspacesFor(_spaces[space].Dimension, settings.Compression), Indexing.BuildThreads, _stopping.Token),
        _ => segment.BuildScalarCodes(space, settings.Quantile, _stopping.Token),
    };

    private static string KindOf(QuantizedCodes codes) => codes switch
    {
        BinaryCodes => BinaryCodesKind,
        ProductCodes => ProductCodesKind,
        _ => ScalarCodesKind,
    };

    private void WriteCodes(long id, QuantizedCodes?[] codes)
    {
        for (var s = 0; s < codes.Length; s++)
        {
            if (codes[s] is { } c)
                ChecksummedFile.WriteAtomic(CodesPath(_directory, id, s), KindOf(c), 1, c.WriteTo);
        }
    }

    /// <summary>Whether some indexed space of the segment has codes the settings do not call for, or lacks ones they do.</summary>
    private bool CodesStale(PointSegment segment, ShardIndexing indexing)
    {
        for (var s = 0; s < _spaces.Count; s++)
        {
            if (segment.Graph(s) is null || segment.VectorCount(s) == 0)
                continue;
            var wanted = indexing.Space(s).Quantization;
            var held = segment.Codes(s);
            if ((wanted is null) != (held is null) || (wanted is not null && !wanted.Matches(held!)))
                return true;
        }

        return false;
    }

    /// <summary>Rebuilds (or drops) a serving segment's codes to match the current settings, and their files.</summary>
    private void RunQuantize(PointSegment segment)
    {
        long id;
        lock (_flushState)
        {
            if (!_persistedSegments.TryGetValue(segment, out id))
                return; // replaced meanwhile: the new segment was built with codes
        }

        var indexing = Indexing;
        for (var s = 0; s < _spaces.Count; s++)
        {
            if (segment.Graph(s) is null || segment.VectorCount(s) == 0)
                continue;
            var path = CodesPath(_directory, id, s);
            if (indexing.Space(s).Quantization is not { } settings)
            {
                segment.DetachCodes(s);
                File.Delete(path);
                continue;
            }

            if (segment.Codes(s) is { } held && settings.Matches(held))
                continue;
            var codes = Build(segment, s, settings);
            ChecksummedFile.WriteAtomic(path, KindOf(codes), 1, codes.WriteTo);
            segment.AttachCodes(s, codes);
        }
    }

    /// <summary>
    /// Attaches a loaded segment's codes from their files where the settings call for them and the file matches;
    /// anything else (no file, damaged, other settings) is left to the optimizer to rebuild.
    /// </summary>
    private static void LoadCodes(string directory, long id, PointSegment segment, int space, ShardIndexing indexing, List<string> warnings)
    {
        var path = CodesPath(directory, id, space);
        if (indexing.Space(space).Quantization is not { } settings || !File.Exists(path))
            return;
        try
        {
            // A file of the other kind (the settings changed while the server was down) fails the kind check: rebuilt.
            var (fileKind, read) = settings.Kind switch
            {
                Collections.QuantizationKind.Binary => (BinaryCodesKind, (Func<Stream, int, int, QuantizedCodes>)BinaryCodes.ReadFrom),
                Collections.QuantizationKind.Product => (ProductCodesKind, ProductCodes.ReadFrom),
                _ => (ScalarCodesKind, QuantizedVectors.ReadFrom),
            };
            using var stream = ChecksummedFile.OpenVerified(path, fileKind, 1).Body;
            var codes = read(stream, segment.UsedSlots, segment.Spaces[space].Dimension);
            if (settings.Matches(codes))
                segment.AttachCodes(space, codes);
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or StorageCorruptionException or ArgumentException)
        {
            warnings.Add($"{path}: {ex.Message}; the codes are built again");
        }
    }
}
