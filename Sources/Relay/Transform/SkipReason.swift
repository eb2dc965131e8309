/// Why an event was settled without being sent. Every skip is counted under its reason
/// (invariant 4).
public enum SkipReason: String, Error, Sendable, CaseIterable, CustomStringConvertible {
    /// Braze sends nothing for users without an external id.
    case noExternalUserID = "no_external_user_id"
    /// Neither the event's feed nor Unbound has credentials.
    case noFeed = "no_feed"
    /// A Currents type outside the catalogue.
    case unsupportedEventType = "unsupported_event_type"
    /// Excluded by `mparticle.events`.
    case notSelected = "not_selected"
    /// A record without a value (a tombstone) or with an empty one: it carries no event.
    case emptyRecord = "empty_record"
    /// A record that holds no events (`{"events": []}`): nothing to send, but still counted.
    case noEvents = "no_events"
    /// Left out by a command's own filter (`dlq redrive --reason/--since`).
    case filtered

    public var description: String { rawValue }
}
