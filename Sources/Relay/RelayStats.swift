import Metrics
import Synchronization

/// The relay's counters, kept for summaries and tests and mirrored to swift-metrics (and so to
/// `/metrics`). Labels carry the integration name so several relays can share a dashboard.
public final class RelayStats: Sendable {
    public struct Snapshot: Sendable, Equatable {
        public var recordsConsumed = 0
        public var eventsDecoded = 0
        public var eventsAccepted: [Feed: Int] = [:]
        public var skipped: [SkipReason: Int] = [:]
        public var requests: [Feed: Int] = [:]
        public var responses: [Int: Int] = [:]
        public var transportErrors = 0
        public var retries = 0
        public var offsetsStored = 0
        public var resultsForRevokedPartitions = 0
        public var attributesTruncated = 0
        public var parked: [DeadLetterReason: Int] = [:]
        public var blockedFeeds: Set<Feed> = []
        public var totalParked: Int { parked.values.reduce(0, +) }
        public var deadLetterWriteFailures = 0

        public var totalAccepted: Int { eventsAccepted.values.reduce(0, +) }
        public var totalSkipped: Int { skipped.values.reduce(0, +) }
        public var totalRequests: Int { requests.values.reduce(0, +) }
    }

    private let state = Mutex(Snapshot())
    let name: String

    public init(name: String) {
        self.name = name
    }

    public var snapshot: Snapshot { state.withLock { $0 } }

    func consumed(records: Int) {
        state.withLock { $0.recordsConsumed += records }
        Counter(label: "currents_relay_records_consumed_total", dimensions: [("name", name)]).increment(by: records)
    }

    func decoded(events: Int) {
        state.withLock { $0.eventsDecoded += events }
    }

    func skipped(_ reason: SkipReason, count: Int = 1) {
        state.withLock { $0.skipped[reason, default: 0] += count }
        Counter(label: "currents_relay_events_skipped_total", dimensions: [("name", name), ("reason", reason.rawValue)]).increment(by: count)
    }

    func requestSent(feed: Feed) {
        state.withLock { $0.requests[feed, default: 0] += 1 }
        Counter(label: "currents_relay_requests_total", dimensions: [("name", name), ("feed", feed.rawValue)]).increment()
    }

    func response(feed: Feed, status: Int) {
        state.withLock { $0.responses[status, default: 0] += 1 }
        Counter(label: "currents_relay_responses_total", dimensions: [("name", name), ("feed", feed.rawValue), ("status", String(status))]).increment()
    }

    func transportError(feed: Feed) {
        state.withLock { $0.transportErrors += 1 }
        Counter(label: "currents_relay_transport_errors_total", dimensions: [("name", name), ("feed", feed.rawValue)]).increment()
    }

    func retried(feed: Feed) {
        state.withLock { $0.retries += 1 }
        Counter(label: "currents_relay_retries_total", dimensions: [("name", name), ("feed", feed.rawValue)]).increment()
    }

    func accepted(feed: Feed, events: Int) {
        state.withLock { $0.eventsAccepted[feed, default: 0] += events }
        Counter(label: "currents_relay_events_sent_total", dimensions: [("name", name), ("feed", feed.rawValue)]).increment(by: events)
    }

    func truncated(_ count: Int) {
        state.withLock { $0.attributesTruncated += count }
        Counter(label: "currents_relay_attributes_truncated_total", dimensions: [("name", name)]).increment(by: count)
    }

    func parked(_ reason: DeadLetterReason, feed: Feed?) {
        state.withLock { $0.parked[reason, default: 0] += 1 }
        Counter(label: "currents_relay_dead_lettered_total", dimensions: [("name", name), ("reason", reason.rawValue), ("feed", feed?.rawValue ?? "none")]).increment()
    }

    /// Unsettled records and bytes, and whether consumption is paused (sampled as they change).
    func inFlight(records: Int, bytes: Int, paused: Bool) {
        Gauge(label: "currents_relay_in_flight_records", dimensions: [("name", name)]).record(records)
        Gauge(label: "currents_relay_in_flight_bytes", dimensions: [("name", name)]).record(bytes)
        Gauge(label: "currents_relay_paused", dimensions: [("name", name)]).record(paused ? 1 : 0)
    }

    func deadLetterWriteFailed() {
        state.withLock { $0.deadLetterWriteFailures += 1 }
        Counter(label: "currents_relay_dead_letter_write_failures_total", dimensions: [("name", name)]).increment()
    }

    func feedBlocked(_ feed: Feed, _ blocked: Bool) {
        state.withLock { if blocked { $0.blockedFeeds.insert(feed) } else { $0.blockedFeeds.remove(feed) } }
        Gauge(label: "currents_relay_feed_blocked", dimensions: [("name", name), ("feed", feed.rawValue)]).record(blocked ? 1 : 0)
    }

    func stored(offsets: Int) {
        state.withLock { $0.offsetsStored += offsets }
    }

    func droppedForRevokedPartition(count: Int) {
        state.withLock { $0.resultsForRevokedPartitions += count }
        Counter(label: "currents_relay_results_for_revoked_partitions_total", dimensions: [("name", name)]).increment(by: count)
    }
}

