import MParticle

/// A `/v2/bulkevents` request ready to send, with the acknowledgements of every event in it so
/// that settling travels with the data.
public struct BulkRequest: Sendable {
    public var feed: Feed
    public var batches: [EncodedBatch]
    /// One per event, in the order of the events in `batches`.
    public var acks: [RecordAck]

    public var eventCount: Int { acks.count }
    public var byteCount: Int { batches.reduce(1) { $0 + $1.byteCount + 1 } }
    public var body: [UInt8] { bulkRequestBody(batches) }
}

/// Collects one feed's events into requests within mParticle's limits: events with identical
/// batch-level parts share a batch (≤ 128 KB); a request holds ≤ 100 batches and ≤ 256 KB, and
/// leaves after the linger time. Pure: the caller passes the clock reading.
public struct FeedBatcher: Sendable {
    public let feed: Feed
    public let maxBatches: Int
    public let maxRequestBytes: Int
    public let maxBatchBytes: Int

    private var batches: [EncodedBatch] = []
    private var acks: [[RecordAck]] = []
    /// Index of the open batch for each header, for grouping.
    private var openBatch: [[UInt8]: Int] = [:]
    private var requestBytes = 2
    /// When the oldest event of the open request arrived (clock nanoseconds).
    public private(set) var openedAt: UInt64?

    public init(feed: Feed, maxBatches: Int = EventsAPILimits.maxBatchesPerRequest,
                maxRequestBytes: Int = EventsAPILimits.maxRequestBytes, maxBatchBytes: Int = EventsAPILimits.maxBatchBytes) {
        self.feed = feed
        self.maxBatches = maxBatches
        self.maxRequestBytes = maxRequestBytes
        self.maxBatchBytes = maxBatchBytes
    }

    public var isEmpty: Bool { batches.isEmpty }
    public var pendingEvents: Int { acks.reduce(0) { $0 + $1.count } }

    /// Adds one encoded event. Returns a request when the event did not fit in the open one
    /// (the open request is closed and the event starts the next) or filled it exactly.
    public mutating func add(header: [UInt8], event: [UInt8], ack: RecordAck, now: UInt64) -> BulkRequest? {
        var completed: BulkRequest?
        if let index = openBatch[header] {
            let grown = batches[index].byteCount + event.count + 1
            if grown <= maxBatchBytes && requestBytes + event.count + 1 <= maxRequestBytes {
                batches[index].events.append(event)
                acks[index].append(ack)
                requestBytes += event.count + 1
                return nil
            }
            if grown > maxBatchBytes {
                openBatch[header] = nil
            }
        }
        let newBatchBytes = EncodedBatch.overhead + header.count + event.count
        if !batches.isEmpty && (batches.count >= maxBatches || requestBytes + newBatchBytes + 1 > maxRequestBytes) {
            completed = takeRequest()
        }
        if batches.isEmpty { openedAt = now }
        openBatch[header] = batches.count
        batches.append(EncodedBatch(header: header, events: [event]))
        acks.append([ack])
        requestBytes += newBatchBytes + (batches.count > 1 ? 1 : 0)
        return completed
    }

    /// The open request if it has waited `linger` nanoseconds or more.
    public mutating func takeIfLingered(now: UInt64, linger: UInt64) -> BulkRequest? {
        guard let openedAt, now &- openedAt >= linger else { return nil }
        return takeRequest()
    }

    /// The open request, whatever its age (shutdown, flush).
    public mutating func takeRequest() -> BulkRequest? {
        guard !batches.isEmpty else { return nil }
        let request = BulkRequest(feed: feed, batches: batches, acks: acks.flatMap { $0 })
        batches = []
        acks = []
        openBatch = [:]
        requestBytes = 2
        openedAt = nil
        return request
    }
}
