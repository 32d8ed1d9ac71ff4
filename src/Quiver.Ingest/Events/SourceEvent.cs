namespace Quiver.Ingest.Events;

/// <summary>One message from a source, as the writer needs it.</summary>
/// <param name="Data">The event's JSON.</param>
/// <param name="Key">The Kafka key, or the NATS subject's last token.</param>
/// <param name="TraceParent">The W3C <c>traceparent</c> header, when the producer sent one.</param>
public readonly record struct SourceEvent(ReadOnlyMemory<byte> Data, string? Key, string? TraceParent, string? TraceState);

/// <summary>What happened to one event: written, or to be dead-lettered for the reason given.</summary>
public readonly record struct EventOutcome(string? DeadLetterReason)
{
    public bool Applied => DeadLetterReason is null;
}
