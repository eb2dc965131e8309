/// What travels with each event through batching and delivery: how to settle it, how old it is,
/// and which Braze event it is.
public struct EventUnit: Sendable, Equatable {
    public var ack: RecordAck
    /// Milliseconds since the epoch the 48-hour rule counts from (record timestamp, else event time).
    public var ageBaseMs: Int64
    /// The Braze event id, when the record holds several events (a dead-letter record of one of
    /// them names it); the pipeline leaves it empty otherwise.
    public var eventID: String
    /// Set when this event is one of several in its record (for the dead-letter header).
    public var sharesRecord: Bool

    public init(ack: RecordAck, ageBaseMs: Int64, eventID: String, sharesRecord: Bool = false) {
        self.ack = ack
        self.ageBaseMs = ageBaseMs
        self.eventID = eventID
        self.sharesRecord = sharesRecord
    }
}
