namespace Quiver.Engine.Collections;

/// <summary>The similarity of a vector space. Internally every score is "higher is closer".</summary>
public enum Distance
{
    Cosine,
    Dot,
    Euclid,
    Manhattan,
}

public static class DistanceNames
{
    public static bool TryParse(string? text, out Distance distance)
    {
        switch (text)
        {
            case "Cosine": distance = Distance.Cosine; return true;
            case "Dot": distance = Distance.Dot; return true;
            case "Euclid": distance = Distance.Euclid; return true;
            case "Manhattan": distance = Distance.Manhattan; return true;
            default: distance = default; return false;
        }
    }

    public static string Name(this Distance distance) => distance switch
    {
        Distance.Cosine => "Cosine",
        Distance.Dot => "Dot",
        Distance.Euclid => "Euclid",
        Distance.Manhattan => "Manhattan",
        _ => throw new ArgumentOutOfRangeException(nameof(distance)),
    };

    /// <summary>Euclid and Manhattan report distances (smaller is closer); Cosine and Dot report similarities.</summary>
    public static bool IsDistanceMetric(this Distance distance) => distance is Distance.Euclid or Distance.Manhattan;

    /// <summary>The kernel a segment scores this distance with (Cosine: dot product over normalised vectors).</summary>
    public static Quiver.Segment.Segments.VectorMetric ToMetric(this Distance distance) => distance switch
    {
        Distance.Euclid => Quiver.Segment.Segments.VectorMetric.NegSquaredL2,
        Distance.Manhattan => Quiver.Segment.Segments.VectorMetric.NegL1,
        _ => Quiver.Segment.Segments.VectorMetric.Dot,
    };

    /// <summary>Converts an internal score (higher is closer) to the value the API reports.</summary>
    public static float ToExternal(this Distance distance, float internalScore) => distance switch
    {
        Distance.Euclid => MathF.Sqrt(MathF.Max(0, -internalScore)),
        Distance.Manhattan => -internalScore,
        _ => internalScore,
    };

    /// <summary>Converts an API score threshold to the internal scale so "passes" is always internal >= threshold.</summary>
    public static float ThresholdToInternal(this Distance distance, float external) => distance switch
    {
        // A distance is never negative: a negative maximum distance admits nothing.
        Distance.Euclid => external < 0 ? float.PositiveInfinity : -(external * external),
        Distance.Manhattan => external < 0 ? float.PositiveInfinity : -external,
        _ => external,
    };
}
