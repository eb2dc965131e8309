import Currents
import DequeModule
import Kafka
import Logging
import MParticle

/// The pipeline: records → decode → map → per-feed batchers → senders → settle → offsets.
///
/// One actor owns the offset tracker, the batchers and the per-feed request queues, so every
/// decision about a record happens in one place; HTTP runs in child tasks and reports back with
/// the acknowledgements that travelled with the request. Offsets are stored only as watermarks
/// of settled records (invariant 1).
public actor RelayPipeline {
    public struct Settings: Sendable {
        public var lingerMs: Int
        public var maxInFlightRequestsPerFeed: Int
        public var maxInFlightMessages: Int
        public var maxInFlightBytes: Int

        public init(lingerMs: Int = 250, maxInFlightRequestsPerFeed: Int = 4, maxInFlightMessages: Int = 50_000,
                    maxInFlightBytes: Int = 64 * 1024 * 1024) {
            self.lingerMs = lingerMs
            self.maxInFlightRequestsPerFeed = maxInFlightRequestsPerFeed
            self.maxInFlightMessages = maxInFlightMessages
            self.maxInFlightBytes = maxInFlightBytes
        }

        public init(_ delivery: RelayConfiguration.DeliverySettings) {
            self.init(lingerMs: delivery.lingerMs, maxInFlightRequestsPerFeed: delivery.maxInFlightRequestsPerFeed,
                      maxInFlightMessages: delivery.maxInFlightMessages, maxInFlightBytes: delivery.maxInFlightBytes)
        }
    }

    private let source: any RecordSource
    private let mapper: EventMapper
    private let sender: FeedSender
    private let settings: Settings
    private let clock: any RelayClock
    private let logger: Logger
    public nonisolated let stats: RelayStats
    private let decoder = CurrentsDecoder()

    private var tracker = OffsetTracker()
    private var batchers: [Feed: FeedBatcher] = [:]
    private var queued: [Feed: Deque<BulkRequest>] = [:]
    private var inFlight: [Feed: Int] = [:]
    private var sendTasks: [Int: Task<Void, Never>] = [:]
    private var nextTaskID = 0
    private var assigned: Set<TopicPartition> = []
    private var paused = false
    private var stopping = false
    private var reportedSkips: Set<SkipReason> = []
    private var idleWaiters: [CheckedContinuation<Void, Never>] = []

    public init(source: any RecordSource, mapper: EventMapper, sender: FeedSender, settings: Settings,
                clock: any RelayClock = SystemRelayClock(), stats: RelayStats, logger: Logger) {
        self.source = source
        self.mapper = mapper
        self.sender = sender
        self.settings = settings
        self.clock = clock
        self.stats = stats
        self.logger = logger
        for feed in Feed.allCases { batchers[feed] = FeedBatcher(feed: feed) }
    }

    /// Consumes until the source ends (after `shutdown`, or when the consumer is closed).
    public func run() async {
        let ticker = Task { [weak self, clock, settings] in
            let interval = Duration.milliseconds(max(5, min(50, settings.lingerMs / 2)))
            while !Task.isCancelled {
                try? await clock.sleep(for: interval)
                await self?.tick()
            }
        }
        for await event in source.events {
            handle(event)
        }
        ticker.cancel()
    }

    /// Stops taking records, sends what is batched, waits up to `timeout` for in-flight requests,
    /// commits the stored offsets and leaves the group. Unsettled records are not committed, so a
    /// later run delivers them again.
    public func shutdown(timeout: Duration) async {
        guard !stopping else { return }
        stopping = true
        for feed in Feed.allCases {
            for request in batchers[feed]?.takeAll() ?? [] { enqueue(request) }
        }
        let deadline = clock.monotonicNanoseconds() + UInt64(max(0, timeout.components.seconds)) * 1_000_000_000
            + UInt64(max(0, timeout.components.attoseconds / 1_000_000_000))
        while !sendTasks.isEmpty || queued.values.contains(where: { !$0.isEmpty }), clock.monotonicNanoseconds() < deadline {
            try? await clock.sleep(for: .milliseconds(20))
        }
        if !sendTasks.isEmpty {
            logger.warning("shutdown timeout: requests still in flight; their records stay uncommitted and will be sent again",
                           metadata: ["requests": "\(sendTasks.count)", "records": "\(tracker.pendingRecords)"])
            sendTasks.values.forEach { $0.cancel() }
        }
        do {
            try source.commit()
        } catch {
            logger.warning("final commit failed; the next run re-sends from the last committed offsets", metadata: ["error": "\(error)"])
        }
        await source.close()
    }

    /// Waits until every record taken so far is settled and nothing is batched or in flight.
    public func waitUntilIdle() async {
        if isIdle { return }
        await withCheckedContinuation { idleWaiters.append($0) }
    }

    public var pendingRecords: Int { tracker.pendingRecords }

    private var isIdle: Bool {
        tracker.pendingRecords == 0 && sendTasks.isEmpty && batchers.values.allSatisfy(\.isEmpty)
    }

    // MARK: - Records

    private func handle(_ event: KafkaConsumerEvent) {
        switch event {
        case .messages(let messages):
            guard !stopping else { return }
            stats.consumed(records: messages.count)
            var moved: [TopicPartition: Int64] = [:]
            let now = clock.monotonicNanoseconds()
            for message in messages {
                take(message, now: now, moved: &moved)
            }
            store(moved)
            applyBackpressure()
            notifyIfIdle()
        case .assigned(let partitions):
            assigned.formUnion(partitions)
            if paused { source.pause(partitions) }
        case .revoked(let partitions):
            for partition in partitions {
                assigned.remove(partition)
                let pending = tracker.pending(partition)
                if pending > 0 { stats.droppedForRevokedPartition(count: pending) }
                tracker.revoke(partition)
            }
            notifyIfIdle()
        case .error:
            break
        }
    }

    private func take(_ message: KafkaMessage, now: UInt64, moved: inout [TopicPartition: Int64]) {
        let decoded = decoder.decode(value: message.value, eventTypeHeader: message.header("event_type")?.stringValue, topic: message.topic)
        var sendable: [MappedEvent] = []
        switch decoded {
        case .failure(let error):
            skip(.undecodable, message: message, detail: error.message)
        case .success(let results):
            stats.decoded(events: results.count)
            for result in results {
                switch result {
                case .failure(let error):
                    skip(.undecodable, message: message, detail: error.message)
                case .success(let event):
                    switch mapper.map(event) {
                    case .success(let mapped):
                        if mapped.truncations > 0 { stats.truncated(mapped.truncations) }
                        sendable.append(mapped)
                    case .failure(let reason):
                        skip(reason, message: message, detail: event.eventType)
                    }
                }
            }
        }
        var encoded: [(Feed, [UInt8], [UInt8])] = []
        encoded.reserveCapacity(sendable.count)
        for event in sendable {
            let header = event.header.encoded()
            let payload = event.payload.encoded()
            if EncodedBatch.overhead + header.count + payload.count > EventsAPILimits.maxBatchBytes {
                skip(.tooLarge, message: message, detail: "\(event.payload.sourceMessageID): \(header.count + payload.count) bytes")
                continue
            }
            encoded.append((event.feed, header, payload))
        }
        let ack = tracker.add(message.topicPartition, offset: message.offset, events: encoded.count, bytes: message.byteCount)
        if encoded.isEmpty {
            if let watermark = tracker.advance(message.topicPartition) { moved[message.topicPartition] = watermark }
            return
        }
        for (feed, header, payload) in encoded {
            if let request = batchers[feed]!.add(header: header, event: payload, ack: ack, now: now) {
                enqueue(request)
            }
        }
    }

    private func skip(_ reason: SkipReason, message: KafkaMessage, detail: String) {
        stats.skipped(reason)
        let metadata: Logger.Metadata = [
            "reason": "\(reason)", "topic": "\(message.topic)", "partition": "\(message.partition)",
            "offset": "\(message.offset)", "detail": "\(detail.prefix(200))",
        ]
        if reportedSkips.insert(reason).inserted {
            logger.info("skipping events (first of this reason; later ones are logged at debug and counted)", metadata: metadata)
        } else {
            logger.debug("skipped event", metadata: metadata)
        }
    }

    // MARK: - Requests

    private func tick() {
        let now = clock.monotonicNanoseconds()
        let linger = UInt64(settings.lingerMs) * 1_000_000
        for feed in Feed.allCases {
            for request in batchers[feed]!.takeLingered(now: now, linger: linger) { enqueue(request) }
        }
    }

    private func enqueue(_ request: BulkRequest) {
        queued[request.feed, default: []].append(request)
        dispatch(request.feed)
    }

    private func dispatch(_ feed: Feed) {
        while inFlight[feed, default: 0] < settings.maxInFlightRequestsPerFeed, let request = queued[feed]?.popFirst() {
            inFlight[feed, default: 0] += 1
            let id = nextTaskID
            nextTaskID += 1
            let sender = self.sender
            sendTasks[id] = Task { [weak self] in
                do {
                    try await sender.deliver(request)
                    await self?.completed(id: id, request: request, accepted: true)
                } catch {
                    await self?.completed(id: id, request: request, accepted: false)
                }
            }
        }
    }

    private func completed(id: Int, request: BulkRequest, accepted: Bool) {
        sendTasks[id] = nil
        inFlight[request.feed, default: 1] -= 1
        if accepted {
            stats.accepted(feed: request.feed, events: request.eventCount)
            var moved: [TopicPartition: Int64] = [:]
            for ack in request.acks {
                if let watermark = tracker.settle(ack) { moved[ack.topicPartition] = watermark }
            }
            store(moved)
            applyBackpressure()
        }
        dispatch(request.feed)
        notifyIfIdle()
    }

    private func store(_ offsets: [TopicPartition: Int64]) {
        guard !offsets.isEmpty else { return }
        let refused = source.storeOffsets(offsets)
        stats.stored(offsets: offsets.count - refused.count)
        for (partition, error) in refused {
            logger.debug("offset not stored (partition no longer owned?)", metadata: ["partition": "\(partition)", "error": "\(error)"])
        }
    }

    private func applyBackpressure() {
        let pending = tracker.pendingRecords
        let bytes = tracker.pendingBytes
        if !paused && (pending >= settings.maxInFlightMessages || bytes >= settings.maxInFlightBytes) {
            paused = true
            logger.info("in-flight cap reached; pausing partitions", metadata: ["records": "\(pending)", "bytes": "\(bytes)"])
            source.pause(Array(assigned))
        } else if paused && pending <= settings.maxInFlightMessages / 2 && bytes <= settings.maxInFlightBytes / 2 {
            paused = false
            logger.info("below low-water mark; resuming partitions", metadata: ["records": "\(pending)", "bytes": "\(bytes)"])
            source.resume(Array(assigned))
        }
    }

    private func notifyIfIdle() {
        guard isIdle, !idleWaiters.isEmpty else { return }
        let waiters = idleWaiters
        idleWaiters = []
        waiters.forEach { $0.resume() }
    }
}
