import Synchronization

/// What the simulator accepted, and how it is told to behave. Shared by the HTTP handlers, the
/// in-process API tests use, and the `/_sim` control endpoints.
public final class SimulatorState: Sendable {
    /// One accepted event.
    public struct AcceptedEvent: Sendable, Equatable {
        public var feed: String
        public var sourceMessageID: String?
        public var eventType: String
        public var eventName: String?
    }

    public struct FeedCounts: Sendable, Equatable, Codable {
        public var requests = 0
        public var batches = 0
        public var events = 0
    }

    /// How the simulator answers, beyond validation.
    public struct Behaviour: Sendable, Equatable {
        /// When set, every Events API request gets this status (e.g. 503) and nothing is recorded.
        public var failStatus: Int?
        /// Added before every answer.
        public var latencyMs = 0
        /// When true, accepted events are counted but their ids are not kept (benchmarks).
        public var countOnly = false
        /// Answered in order, one per authenticated request, before anything else (e.g. [503, 503, 202]).
        /// A 202 in the script lets the request through to validation.
        public var statusScript: [Int] = []

        public init(failStatus: Int? = nil, latencyMs: Int = 0, countOnly: Bool = false, statusScript: [Int] = []) {
            self.failStatus = failStatus
            self.latencyMs = latencyMs
            self.countOnly = countOnly
            self.statusScript = statusScript
        }
    }

    /// What to do with one authenticated request.
    enum Decision: Equatable {
        case fail(Int)
        case proceed
    }

    struct Storage {
        var events: [AcceptedEvent] = []
        var counts: [String: FeedCounts] = [:]
        var rejected: [Int: Int] = [:]
        var userAgents: Set<String> = []
        var behaviour = Behaviour()
    }

    private let storage = Mutex(Storage())

    public init(behaviour: Behaviour = Behaviour()) {
        storage.withLock { $0.behaviour = behaviour }
    }

    public var behaviour: Behaviour {
        get { storage.withLock { $0.behaviour } }
    }

    public func setBehaviour(_ behaviour: Behaviour) {
        storage.withLock { $0.behaviour = behaviour }
    }

    /// Answer every request with `status` (nil: back to normal).
    public func setFailStatus(_ status: Int?) {
        storage.withLock { $0.behaviour.failStatus = status }
    }

    /// Consumes the script, then applies the fail switch.
    func decide() -> Decision {
        storage.withLock { state in
            if !state.behaviour.statusScript.isEmpty {
                let status = state.behaviour.statusScript.removeFirst()
                return (200..<300).contains(status) ? .proceed : .fail(status)
            }
            if let status = state.behaviour.failStatus { return .fail(status) }
            return .proceed
        }
    }

    public var acceptedEvents: [AcceptedEvent] { storage.withLock { $0.events } }
    /// Every User-Agent seen on authenticated requests.
    public var userAgents: Set<String> { storage.withLock { $0.userAgents } }

    func sawUserAgent(_ agent: String) {
        storage.withLock { _ = $0.userAgents.insert(agent) }
    }
    public var counts: [String: FeedCounts] { storage.withLock { $0.counts } }
    /// Refused requests by status.
    public var rejectedRequests: [Int: Int] { storage.withLock { $0.rejected } }

    public var totalAcceptedEvents: Int { storage.withLock { $0.counts.values.reduce(0) { $0 + $1.events } } }

    /// Clears what was recorded (the behaviour stays).
    public func reset() {
        storage.withLock { state in
            state.events = []
            state.counts = [:]
            state.rejected = [:]
        }
    }

    func record(feed: String, batches: Int, events: [AcceptedEvent]) {
        storage.withLock { state in
            state.counts[feed, default: FeedCounts()].requests += 1
            state.counts[feed, default: FeedCounts()].batches += batches
            state.counts[feed, default: FeedCounts()].events += events.count
            if !state.behaviour.countOnly { state.events.append(contentsOf: events) }
        }
    }

    func recordRejection(status: Int) {
        storage.withLock { $0.rejected[status, default: 0] += 1 }
    }
}
