using Quiver.Segment.PayloadIndex;
using Quiver.Segment.Payloads;

namespace Quiver.Segment.Filtering;

/// <summary>What a compiled filter needs to know about the segment's payload indexes.</summary>
public interface IFilterContext
{
    /// <summary>
    /// The tokenizer of the full-text index on <paramref name="key"/>, or null when the field has none. With one,
    /// <c>match.text</c>/<c>text_any</c>/<c>phrase</c> compare tokens; without, they compare substrings (Qdrant).
    /// </summary>
    TextTokenizer? GetTextTokenizer(JsonPath key);
}
