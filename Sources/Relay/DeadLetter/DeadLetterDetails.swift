/// What is known about one parked message, beyond the source record.
public struct DeadLetterDetails: Sendable, Equatable {
    public var reason: DeadLetterReason
    /// A readable explanation: the decode error, the response body, the age.
    public var message: String
    public var feed: Feed?
    public var httpStatus: Int?
    /// The Braze event id, when one event of a many-event record is parked.
    public var eventID: String?
    public var firstAttemptMs: Int64?
    public var parkedMs: Int64
    /// The source record was gone from Kafka when it was read again to be parked (retention), so
    /// the dead-letter record holds what the relay still had: the event's mParticle batch.
    public var originalGone: Bool

    public init(reason: DeadLetterReason, message: String, feed: Feed? = nil, httpStatus: Int? = nil,
                eventID: String? = nil, firstAttemptMs: Int64? = nil, parkedMs: Int64, originalGone: Bool = false) {
        self.reason = reason
        self.message = message
        self.feed = feed
        self.httpStatus = httpStatus
        self.eventID = eventID
        self.firstAttemptMs = firstAttemptMs
        self.parkedMs = parkedMs
        self.originalGone = originalGone
    }
}
