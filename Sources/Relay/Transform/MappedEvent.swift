import MParticle

/// One Currents event as mParticle will receive it: its feed, the batch-level parts and the event.
public struct MappedEvent: Sendable, Equatable {
    public var feed: Feed
    public var header: BatchHeader
    public var payload: EventPayload
    /// Attributes cut to mParticle's per-event limits, by kind (each is counted and logged).
    public var truncations = AttributeTruncations()
}
