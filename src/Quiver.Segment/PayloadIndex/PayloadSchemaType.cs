namespace Quiver.Segment.PayloadIndex;

/// <summary>Spec <c>PayloadSchemaType</c> (geo is not supported yet).</summary>
public enum PayloadSchemaType
{
    Keyword,
    Integer,
    Float,
    Geo,
    Text,
    Bool,
    Datetime,
    Uuid,
}
