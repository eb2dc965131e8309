import Foundation
import NIOConcurrencyHelpers

/// What the simulator accepted, and how it is told to behave. Shared by the HTTP handlers, the
/// in-process API tests use, and the `/_sim` control endpoints.
public final class SimulatorState: Sendable {
    /// One accepted event.
    public struct AcceptedEvent: Sendable, Equatable {
        public var feed: String
        public var sourceMessageID: String?
        public var eventType: String
        public var eventName: String?
        public var timestampMs: Int64?
        /// Accepted on `/v2/bulkevents/historical`.
        public var historical = false
        /// How many custom attributes it carried (the limit is 100): what a test can check of
        /// them without the simulator keeping every attribute of every event.
        public var customAttributeCount = 0
    }

    public struct FeedCounts: Sendable, Equatable, Codable {
        public var requests = 0
        public var batches = 0
        public var events = 0
    }

    /// One request as the simulator answered it.
    public struct LoggedRequest: Sendable, Equatable {
        public var feed: String
        /// Wall milliseconds when the answer was decided.
        public var atMs: Int64
        public var status: Int
    }

    /// How the simulator answers, beyond validation. Set for all feeds or per feed.
    public struct Behaviour: Sendable, Equatable {
        /// When set, every Events API request gets this status (e.g. 503) and nothing is recorded.
        public var failStatus: Int?
        /// Added before every answer.
        public var latencyMs = 0
        /// When true, accepted events are counted but their ids are not kept (benchmarks).
        public var countOnly = false
        /// Answered in order, one per authenticated request, before anything else (e.g. [503, 503, 202]).
        /// A 2xx in the script lets the request through to validation.
        public var statusScript: [Int] = []
        /// Share of requests (0...1) answered `failureStatus` at random, from `seed`.
        public var failureRate = 0.0
        public var failureStatus = 503
        public var seed: UInt64 = 1
        /// Sent as `Retry-After` with every 429.
        public var retryAfterSeconds: Int?
        /// A batch holding any of these event ids (`source_message_id`) makes its request a 400.
        public var rejectEventIDs: Set<String> = []
        /// Share of requests (0...1) held `slowLatencyMs` before the answer, so that a client with a
        /// shorter timeout gives up on the connection (the relay sees a transport error).
        public var slowRate = 0.0
        public var slowLatencyMs = 0
        /// Sent as `X-mp-rate-limit-percentage-used` with every 2xx, as mParticle may send it.
        public var rateLimitPercentageUsed: Int?

        public init(failStatus: Int? = nil, latencyMs: Int = 0, countOnly: Bool = false, statusScript: [Int] = [],
                    failureRate: Double = 0, failureStatus: Int = 503, seed: UInt64 = 1, retryAfterSeconds: Int? = nil,
                    rejectEventIDs: Set<String> = []) {
            self.failStatus = failStatus
            self.latencyMs = latencyMs
            self.countOnly = countOnly
            self.statusScript = statusScript
            self.failureRate = failureRate
            self.failureStatus = failureStatus
            self.seed = seed
            self.retryAfterSeconds = retryAfterSeconds
            self.rejectEventIDs = rejectEventIDs
        }
    }

    /// What to do with one authenticated request.
    enum Decision: Equatable {
        case fail(Int)
        case proceed
        /// Hold the answer this long first.
        case stall(Int)
    }

    struct Storage {
        var events: [AcceptedEvent] = []
        var counts: [String: FeedCounts] = [:]
        var rejected: [Int: Int] = [:]
        var userAgents: Set<String> = []
        var behaviour = Behaviour()
        var feedBehaviours: [String: Behaviour] = [:]
        var random: [String: UInt64] = [:]
        var feedsByKey: [String: SimulatedFeed] = [:]
        var seenRequestIDs: [String: Set<String>] = [:]
        var deduplicatedBatches = 0
        var historicalEvents = 0
        var log: [LoggedRequest] = []
    }

    private let storage = NIOLockedValueBox(Storage())

    public init(feeds: [SimulatedFeed] = [], behaviour: Behaviour = Behaviour()) {
        storage.withLockedValue { state in
            state.behaviour = behaviour
            state.feedsByKey = Dictionary(feeds.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        }
    }

    public var behaviour: Behaviour { storage.withLockedValue { $0.behaviour } }

    /// The behaviour for all feeds (per-feed settings stay).
    public func setBehaviour(_ behaviour: Behaviour) {
        storage.withLockedValue { $0.behaviour = behaviour }
    }

    /// The behaviour of one feed; nil goes back to the shared one.
    public func setBehaviour(_ behaviour: Behaviour?, feed: String) {
        storage.withLockedValue { state in
            state.feedBehaviours[feed] = behaviour
            state.random[feed] = nil
        }
    }

    public func behaviour(feed: String) -> Behaviour {
        storage.withLockedValue { $0.feedBehaviours[feed] ?? $0.behaviour }
    }

    /// Answer every request with `status` (nil: back to normal).
    public func setFailStatus(_ status: Int?) {
        storage.withLockedValue { $0.behaviour.failStatus = status }
    }

    /// Replaces a feed's key and secret: the old pair gets 403 from now on (expiry), the new one
    /// works (rotation).
    public func setCredentials(feed: String, key: String, secret: String) {
        storage.withLockedValue { state in
            state.feedsByKey = state.feedsByKey.filter { $0.value.name != feed }
            state.feedsByKey[key] = SimulatedFeed(name: feed, key: key, secret: secret)
        }
    }

    func feed(forKey key: String) -> SimulatedFeed? {
        storage.withLockedValue { $0.feedsByKey[key] }
    }

    /// Consumes the feed's script, then applies the fail switch and the failure rate.
    func decide(feed: String) -> Decision {
        storage.withLockedValue { state in
            let perFeed = state.feedBehaviours[feed] != nil
            var behaviour = state.feedBehaviours[feed] ?? state.behaviour
            defer {
                if perFeed { state.feedBehaviours[feed] = behaviour } else { state.behaviour = behaviour }
            }
            if !behaviour.statusScript.isEmpty {
                let status = behaviour.statusScript.removeFirst()
                return (200..<300).contains(status) ? .proceed : .fail(status)
            }
            if let status = behaviour.failStatus { return .fail(status) }
            guard behaviour.failureRate > 0 || behaviour.slowRate > 0 else { return .proceed }
            let key = perFeed ? feed : "*"
            var generator = SplitMix(state: state.random[key] ?? behaviour.seed)
            let roll = Double(generator.next() >> 11) / Double(1 << 53)
            let slowRoll = Double(generator.next() >> 11) / Double(1 << 53)
            state.random[key] = generator.state
            if roll < behaviour.failureRate { return .fail(behaviour.failureStatus) }
            if slowRoll < behaviour.slowRate { return .stall(behaviour.slowLatencyMs) }
            return .proceed
        }
    }

    public var acceptedEvents: [AcceptedEvent] { storage.withLockedValue { $0.events } }
    /// Every User-Agent seen on authenticated requests.
    public var userAgents: Set<String> { storage.withLockedValue { $0.userAgents } }
    public var counts: [String: FeedCounts] { storage.withLockedValue { $0.counts } }
    /// Refused requests by status.
    public var rejectedRequests: [Int: Int] { storage.withLockedValue { $0.rejected } }
    /// Batches dropped because their `source_request_id` was seen before on the same key.
    public var deduplicatedBatches: Int { storage.withLockedValue { $0.deduplicatedBatches } }
    /// Every authenticated request with its answer, in order.
    public var requestLog: [LoggedRequest] { storage.withLockedValue { $0.log } }

    /// Events accepted on `/v2/bulkevents/historical`.
    public var historicalEvents: Int { storage.withLockedValue { $0.historicalEvents } }

    public var totalAcceptedEvents: Int { storage.withLockedValue { $0.counts.values.reduce(0) { $0 + $1.events } } }

    /// Clears what was recorded (the behaviour and the de-duplication memory stay).
    public func reset() {
        storage.withLockedValue { state in
            state.events = []
            state.counts = [:]
            state.rejected = [:]
            state.log = []
            state.deduplicatedBatches = 0
            state.historicalEvents = 0
        }
    }

    func sawUserAgent(_ agent: String) {
        storage.withLockedValue { _ = $0.userAgents.insert(agent) }
    }

    func logAnswer(feed: String, status: Int) {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        storage.withLockedValue { $0.log.append(LoggedRequest(feed: feed, atMs: now, status: status)) }
    }

    /// Records an accepted request. Batches whose `source_request_id` this key has seen are dropped,
    /// as mParticle does.
    func record(feed: String, key: String, batches: [SimulatorBatch], historical: Bool = false) {
        storage.withLockedValue { state in
            if historical { state.historicalEvents += batches.reduce(0) { $0 + $1.events.count } }
            var kept: [AcceptedEvent] = []
            var keptBatches = 0
            for batch in batches {
                if let requestID = batch.sourceRequestID {
                    if state.seenRequestIDs[key, default: []].contains(requestID) {
                        state.deduplicatedBatches += 1
                        continue
                    }
                    state.seenRequestIDs[key, default: []].insert(requestID)
                }
                keptBatches += 1
                kept += batch.events.map { event in
                    var event = event
                    event.historical = historical
                    return event
                }
            }
            state.counts[feed, default: FeedCounts()].requests += 1
            state.counts[feed, default: FeedCounts()].batches += keptBatches
            state.counts[feed, default: FeedCounts()].events += kept.count
            if !(state.feedBehaviours[feed] ?? state.behaviour).countOnly { state.events.append(contentsOf: kept) }
        }
    }

    /// Counts an accepted request of `count_only` mode (no ids kept, no de-duplication).
    func recordCounts(feed: String, batches: Int, events: Int) {
        storage.withLockedValue { state in
            state.counts[feed, default: FeedCounts()].requests += 1
            state.counts[feed, default: FeedCounts()].batches += batches
            state.counts[feed, default: FeedCounts()].events += events
        }
    }

    func recordRejection(status: Int) {
        storage.withLockedValue { $0.rejected[status, default: 0] += 1 }
    }
}

/// One validated batch.
struct SimulatorBatch: Sendable {
    var sourceRequestID: String?
    var events: [SimulatorState.AcceptedEvent]
}

/// SplitMix64, for reproducible failure rates.
struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
