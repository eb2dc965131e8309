/// Decides when a cut is logged: at most once a minute per Currents event type, so a stream of
/// wide events cannot flood the log, while every type that is cut is still named (the metric
/// counts every cut; the log says which events to look at). Pure: the caller passes the time.
public struct TruncationLog: Sendable {
    /// One line to log: the type, the latest event cut, and the cuts since the type's last line.
    public struct Line: Sendable, Equatable {
        public var eventType: String
        public var feed: Feed
        public var eventID: String
        public var cuts: AttributeTruncations
        /// Events of this type cut since its last line (this one included).
        public var events: Int
    }

    struct Pending {
        var lastLoggedNs: UInt64?
        var cuts = AttributeTruncations()
        var events = 0
    }

    public let intervalNs: UInt64
    /// Event types outside the catalogue can be sent (`unknown_types: send`) and their names come
    /// from the records: past this many types, the rest share one entry, so memory stays bounded.
    static let maxTypes = 256
    static let otherTypes = "(other types)"
    private var pending: [String: Pending] = [:]

    public init(interval: Duration = .seconds(60)) {
        intervalNs = UInt64(max(0, interval.components.seconds)) * 1_000_000_000 + UInt64(max(0, interval.components.attoseconds) / 1_000_000_000)
    }

    /// Notes one event's cuts at monotonic `nowNs`; returns the line to log, if one is due.
    public mutating func note(eventType: String, feed: Feed, eventID: String, cuts: AttributeTruncations, nowNs: UInt64) -> Line? {
        guard !cuts.isEmpty else { return nil }
        let key = pending[eventType] != nil || pending.count < Self.maxTypes ? eventType : Self.otherTypes
        var entry = pending[key] ?? Pending()
        entry.cuts += cuts
        entry.events += 1
        defer { pending[key] = entry }
        if let last = entry.lastLoggedNs, nowNs &- last < intervalNs { return nil }
        let line = Line(eventType: key, feed: feed, eventID: eventID, cuts: entry.cuts, events: entry.events)
        entry = Pending(lastLoggedNs: nowNs)
        return line
    }
}
