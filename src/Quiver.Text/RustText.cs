using System.Globalization;
using System.Text;

namespace Quiver.Text;

/// <summary>
/// The Rust string rules Qdrant's tokenizers rely on, in .NET terms: <c>char::is_alphanumeric</c>,
/// <c>char::is_whitespace</c>, <c>str::to_lowercase</c> and counting <c>chars()</c> (Unicode scalar values,
/// not UTF-16 units).
/// </summary>
internal static class RustText
{
    /// <summary>
    /// Rust's <c>is_alphabetic</c> is the Unicode Alphabetic property: letters, letter numbers and the marks
    /// listed as Other_Alphabetic (vowel signs of Indic scripts and the like). .NET has no table for the
    /// latter, so marks count as alphabetic here unless they are generic combining diacritics, which are
    /// not Other_Alphabetic. That is exact for Latin, Cyrillic, Greek, CJK and Arabic letters.
    /// </summary>
    public static bool IsAlphabetic(Rune rune)
    {
        switch (Rune.GetUnicodeCategory(rune))
        {
            case UnicodeCategory.UppercaseLetter:
            case UnicodeCategory.LowercaseLetter:
            case UnicodeCategory.TitlecaseLetter:
            case UnicodeCategory.ModifierLetter:
            case UnicodeCategory.OtherLetter:
            case UnicodeCategory.LetterNumber:
            case UnicodeCategory.SpacingCombiningMark:
                return true;
            case UnicodeCategory.NonSpacingMark:
                return !IsGenericCombiningDiacritic(rune.Value);
            case UnicodeCategory.OtherSymbol:
                // Circled Latin letters are Other_Alphabetic.
                return rune.Value is >= 0x24B6 and <= 0x24E9;
            default:
                return false;
        }
    }

    /// <summary>Rust's <c>is_alphanumeric</c>: alphabetic, or a number of any kind (Nd, Nl, No).</summary>
    public static bool IsAlphanumeric(Rune rune) => IsAlphabetic(rune) || Rune.IsNumber(rune);

    /// <summary>Rust's <c>is_whitespace</c>: the Unicode White_Space property, which .NET implements too.</summary>
    public static bool IsWhitespace(Rune rune) => Rune.IsWhiteSpace(rune);

    /// <summary>The number of Unicode scalar values, Rust's <c>chars().count()</c>.</summary>
    public static int CharCount(string text)
    {
        var count = 0;
        foreach (var _ in text.EnumerateRunes())
            count++;
        return count;
    }

    /// <summary>
    /// The UTF-16 length of the first <paramref name="chars"/> scalar values, or -1 when the text has no more
    /// than that many (Rust's <c>char_indices().nth(n)</c> being <c>None</c>).
    /// </summary>
    public static int PrefixLength(string text, int chars)
    {
        var seen = 0;
        var index = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            if (seen == chars)
                return index;
            seen++;
            index += rune.Utf16SequenceLength;
        }

        return -1;
    }

    /// <summary>
    /// Rust's <c>str::to_lowercase</c>: the full lower-case mapping, so U+0130 becomes "i\u0307" and a capital
    /// sigma at the end of a word becomes the final sigma, which a per-character mapping does not do.
    /// </summary>
    public static string ToLower(string text)
    {
        var lowered = text.ToLowerInvariant();
        if (!text.Contains('\u03A3', StringComparison.Ordinal) && !text.Contains('\u0130', StringComparison.Ordinal))
            return lowered;

        var builder = new StringBuilder(text.Length + 4);
        for (var i = 0; i < text.Length; i++)
        {
            switch (text[i])
            {
                case '\u03A3':
                    builder.Append(IsFinalSigma(text, i) ? '\u03C2' : '\u03C3');
                    break;
                case '\u0130':
                    builder.Append("i\u0307");
                    break;
                default:
                    builder.Append(lowered[i]);
                    break;
            }
        }

        return builder.ToString();
    }

    private static bool IsGenericCombiningDiacritic(int value) =>
        value is (>= 0x0300 and <= 0x036F) or (>= 0x1AB0 and <= 0x1AFF) or (>= 0x1DC0 and <= 0x1DFF)
            or (>= 0x20D0 and <= 0x20FF) or (>= 0xFE20 and <= 0xFE2F);

    /// <summary>Unicode's Final_Sigma condition: a cased letter before, and none after (skipping case-ignorables).</summary>
    private static bool IsFinalSigma(string text, int index)
    {
        var before = false;
        for (var i = index - 1; i >= 0; i--)
        {
            if (IsCaseIgnorable(text[i]))
                continue;
            before = IsCased(text[i]);
            break;
        }

        if (!before)
            return false;

        for (var i = index + 1; i < text.Length; i++)
        {
            if (IsCaseIgnorable(text[i]))
                continue;
            return !IsCased(text[i]);
        }

        return true;
    }

    private static bool IsCased(char c) => char.IsUpper(c) || char.IsLower(c)
        || CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.TitlecaseLetter;

    private static bool IsCaseIgnorable(char c) => c is '\'' or '.' or ':' or '\u00B7' or '\u2019'
        || CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark
            or UnicodeCategory.Format or UnicodeCategory.ModifierLetter or UnicodeCategory.ModifierSymbol;
}
