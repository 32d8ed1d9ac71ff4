using System.Globalization;
using System.Text.Json;

namespace Quiver.Segment.Filtering.Internal;

/// <summary>
/// Parses date-times as Qdrant's <c>DateTimePayloadType::from_str</c> does: RFC 3339; the same with a
/// timezone offset written without a colon (<c>+0100</c>); and, read as UTC, <c>YYYY-MM-DD'T'HH:MM:SS[.f]</c>,
/// <c>YYYY-MM-DD HH:MM:SS[.f]</c>, <c>YYYY-MM-DD HH:MM</c> and <c>YYYY-MM-DD</c>. Values are UTC microseconds
/// since the Unix epoch, Qdrant's internal timestamp.
/// </summary>
internal static class QdrantDateTime
{
    private static readonly string[] OffsetFormats =
    [
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFzzz",
        "yyyy-MM-dd HH:mm:ss.FFFFFFFzzz",
        "yyyy-MM-dd'T'HH:mm:sszzz",
        "yyyy-MM-dd HH:mm:sszzz",
    ];

    private static readonly string[] NaiveFormats =
    [
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF",
        "yyyy-MM-dd HH:mm:ss.FFFFFFF",
        "yyyy-MM-dd'T'HH:mm:ss",
        "yyyy-MM-dd HH:mm:ss",
        "yyyy-MM-dd HH:mm",
        "yyyy-MM-dd",
    ];

    public static bool TryParse(JsonElement element, out long micros)
    {
        micros = 0;
        return element.ValueKind == JsonValueKind.String && TryParse(element.GetString()!, out micros);
    }

    public static bool TryParse(string text, out long micros)
    {
        micros = 0;
        if (text.Length < 10 || text.Length > 64)
            return false;
        var s = Normalize(text, out var hasOffset);
        DateTimeOffset value;
        var ok = hasOffset
            ? DateTimeOffset.TryParseExact(s, OffsetFormats, CultureInfo.InvariantCulture, DateTimeStyles.None, out value)
            : DateTimeOffset.TryParseExact(
                s,
                NaiveFormats,
                CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal,
                out value);
        if (!ok)
            return false;
        micros = (value.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / TimeSpan.TicksPerMicrosecond;
        return true;
    }

    private static string Normalize(string text, out bool hasOffset)
    {
        hasOffset = false;
        var s = text;
        var hasTime = s.Length > 10 && (s[10] == 'T' || s[10] == 't' || s[10] == ' ');
        if (!hasTime)
            return s;
        if (s[10] == 't')
            s = string.Concat(s.AsSpan(0, 10), "T", s.AsSpan(11));

        // Offset: Z, +HH:MM, +HHMM or +HH after the seconds.
        if (s[^1] is 'Z' or 'z')
        {
            hasOffset = true;
            s = string.Concat(s.AsSpan(0, s.Length - 1), "+00:00");
        }
        else
        {
            var sign = s.LastIndexOfAny(['+', '-']);
            if (sign >= 19)
            {
                hasOffset = true;
                var offset = s[(sign + 1)..];
                if (offset.Length == 4 && offset.All(char.IsAsciiDigit))
                    s = string.Concat(s.AsSpan(0, sign + 1), offset.AsSpan(0, 2), ":", offset.AsSpan(2));
                else if (offset.Length == 2 && offset.All(char.IsAsciiDigit))
                    s = string.Concat(s, ":00");
            }
        }

        // .NET parses at most 7 fractional digits; RFC 3339 allows more (nanoseconds): truncate.
        var dot = s.IndexOf('.', 19 <= s.Length ? 19 : s.Length);
        if (dot == 19)
        {
            var end = dot + 1;
            while (end < s.Length && char.IsAsciiDigit(s[end]))
                end++;
            if (end - dot - 1 > 7)
                s = string.Concat(s.AsSpan(0, dot + 8), s.AsSpan(end));
        }

        return s;
    }
}
