import DequeModule
import MParticle

/// A `/v2/bulkevents` request ready to send, with what travels with every event in it, so that
/// settling, splitting and parking need nothing else.
public struct BulkRequest: Sendable {
    public var feed: Feed
    public var batches: [EncodedBatch]
    /// One per event, in the order of the events in `batches`.
    public var units: [EventUnit]
    /// When this request's content was first sent (wall milliseconds), for the dead-letter header.
    public var firstAttemptMs: Int64?
    /// Sent to `/v2/bulkevents/historical` (every event older than 30 days).
    public var historical: Bool

    public init(feed: Feed, batches: [EncodedBatch], units: [EventUnit], firstAttemptMs: Int64? = nil, historical: Bool = false) {
        self.feed = feed
        self.batches = batches
        self.units = units
        self.firstAttemptMs = firstAttemptMs
        self.historical = historical
    }

    public var acks: [RecordAck] { units.map(\.ack) }
    public var eventCount: Int { units.count }
    public var byteCount: Int { batches.reduce(1) { $0 + $1.byteCount + 1 } }
    /// What is sent: the batches written once into the HTTP client's buffer.
    public var requestBody: RequestBody { RequestBody(batches: batches) }
    /// The same bytes as an array (tests, tools).
    public var body: [UInt8] { requestBody.bytes }

    /// Each event with its batch header, in order.
    var flattened: [(header: [UInt8], event: [UInt8], unit: EventUnit)] {
        var result: [(header: [UInt8], event: [UInt8], unit: EventUnit)] = []
        result.reserveCapacity(units.count)
        var index = 0
        for batch in batches {
            for event in batch.events {
                result.append((batch.header, event, units[index]))
                index += 1
            }
        }
        return result
    }

    /// Rebuilds a request from events, keeping consecutive events of one header in one batch.
    init(feed: Feed, flattened: some Collection<(header: [UInt8], event: [UInt8], unit: EventUnit)>, firstAttemptMs: Int64?, historical: Bool) {
        var batches: [EncodedBatch] = []
        var units: [EventUnit] = []
        for item in flattened {
            if let last = batches.indices.last, batches[last].header == item.header {
                batches[last].events.append(item.event)
            } else {
                batches.append(EncodedBatch(header: item.header, events: [item.event]))
            }
            units.append(item.unit)
        }
        self.init(feed: feed, batches: batches, units: units, firstAttemptMs: firstAttemptMs, historical: historical)
    }

    /// The two halves of a refused request, to find the event mParticle refuses; nil for one event.
    public func halves() -> (BulkRequest, BulkRequest)? {
        guard eventCount > 1 else { return nil }
        let all = flattened
        let middle = all.count / 2
        return (BulkRequest(feed: feed, flattened: all[..<middle], firstAttemptMs: firstAttemptMs, historical: historical),
                BulkRequest(feed: feed, flattened: all[middle...], firstAttemptMs: firstAttemptMs, historical: historical))
    }

    /// Splits off the events for which `predicate` holds: (those, the rest), either possibly empty.
    public func partitioned(by predicate: (EventUnit) -> Bool) -> (matching: BulkRequest?, rest: BulkRequest?) {
        let all = flattened
        let matching = all.filter { predicate($0.unit) }
        let rest = all.filter { !predicate($0.unit) }
        return (matching.isEmpty ? nil : BulkRequest(feed: feed, flattened: matching, firstAttemptMs: firstAttemptMs, historical: historical),
                rest.isEmpty ? nil : BulkRequest(feed: feed, flattened: rest, firstAttemptMs: firstAttemptMs, historical: historical))
    }

    /// The oldest event's age base.
    public var oldestAgeBaseMs: Int64 { units.map(\.ageBaseMs).min() ?? .max }
}
