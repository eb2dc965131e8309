import DequeModule

/// One feed's work in the pipeline: its open batches (regular and historical), the requests
/// sealed and waiting for a send slot, how many of its requests are in flight, and whether
/// mParticle refused its credentials.
///
/// ``RelayPipeline`` keeps one lane per feed in a ``FeedTable``, so the events of a record find
/// their feed's state by index, and every decision about a feed reads one value instead of
/// several feed-keyed dictionaries kept in step.
struct FeedLane: Sendable {
    /// A feed whose credentials mParticle refused (401/403): its events are held, and one request
    /// at a time probes the current credentials every probe interval.
    struct Blocked: Sendable {
        /// When the feed was blocked, in milliseconds since the epoch.
        var since: Int64
        /// The last refusal's HTTP status (0: no credentials configured).
        var status: Int
        /// A probe request is in flight.
        var probing = false
        /// The monotonic time of the next probe, in nanoseconds.
        var nextProbeAt: UInt64
    }

    /// Events for `/v2/bulkevents`.
    var regular: FeedBatcher
    /// Events older than the historical cut-off, for `/v2/bulkevents/historical`.
    var historical: FeedBatcher
    /// Requests sealed and waiting for a send slot, in send order.
    var queue: Deque<BulkRequest> = []
    /// Requests of this feed being sent now.
    var inFlight = 0
    /// Set while mParticle refuses the feed's credentials.
    var blocked: Blocked?

    /// - Parameters:
    ///   - feed: The feed the lane sends to.
    ///   - maxOpenBatches: How many open batches each batcher may hold before it seals the oldest.
    init(feed: Feed, maxOpenBatches: Int) {
        regular = FeedBatcher(feed: feed, maxOpenBatches: maxOpenBatches)
        historical = FeedBatcher(feed: feed, maxOpenBatches: maxOpenBatches, historical: true)
    }

    /// No event is open in either batcher (queued and in-flight requests are not counted).
    var batchersAreEmpty: Bool { regular.isEmpty && historical.isEmpty }

    /// Adds an encoded event to the batcher of its endpoint.
    ///
    /// - Returns: A request sealed by the addition (its pool was full), to be queued.
    @inline(__always)
    mutating func add(header: consuming [UInt8], headerHash: Int?, event: consuming [UInt8], unit: consuming EventUnit,
                      historical isHistorical: Bool, now: UInt64) -> BulkRequest? {
        if isHistorical {
            return historical.add(header: consume header, headerHash: headerHash, event: consume event, unit: consume unit, now: now)
        }
        return regular.add(header: consume header, headerHash: headerHash, event: consume event, unit: consume unit, now: now)
    }

    /// A request of the lingered batches of the batcher whose oldest batch is older (see
    /// ``FeedBatcher/takeLingeredRequest(now:linger:)``).
    mutating func takeLingeredRequest(now: UInt64, linger: UInt64) -> BulkRequest? {
        let regularOldest = regular.oldestCreatedAt ?? .max
        let historicalOldest = historical.oldestCreatedAt ?? .max
        return historicalOldest < regularOldest
            ? historical.takeLingeredRequest(now: now, linger: linger)
            : regular.takeLingeredRequest(now: now, linger: linger)
    }

    /// Every open batch of both batchers, as requests.
    mutating func takeAll() -> [BulkRequest] {
        regular.takeAll() + historical.takeAll()
    }

    /// The open batches that hold an event `holds` is true for, whole, as requests.
    mutating func takeBatches(holding holds: (EventUnit) -> Bool) -> [BulkRequest] {
        regular.takeBatches(holding: holds) + historical.takeBatches(holding: holds)
    }

    /// Removes the open events `matches` is true for from both batchers.
    mutating func removeEvents(where matches: (EventUnit) -> Bool) {
        _ = regular.takeEvents(where: matches)
        _ = historical.takeEvents(where: matches)
    }

    /// The open events whose age base is before `cutoffMs`, as up to two requests.
    mutating func takeExpired(before cutoffMs: Int64) -> [BulkRequest] {
        [regular.takeExpired(before: cutoffMs), historical.takeExpired(before: cutoffMs)].compactMap { $0 }
    }
}
