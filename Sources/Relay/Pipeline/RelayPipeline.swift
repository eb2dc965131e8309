import Currents
import DequeModule
import Kafka
import Logging
import MParticle

/// The pipeline: records → decode → map → per-feed batchers → senders → settle → offsets.
///
/// One actor owns the offset tracker, the batchers, the per-feed request queues and the feeds'
/// blocked state, so every decision about a record happens in one place; HTTP and dead-letter
/// writes run in child tasks and report back with what travelled with the data. Offsets are
/// stored only as watermarks of settled records (invariant 1): a record settles when mParticle
/// accepted each of its events, or each was skipped with a counted reason or parked in the
/// dead-letter topic (acknowledged by the broker).
public actor RelayPipeline {
    public struct Settings: Sendable {
        public var lingerMs: Int
        public var maxInFlightRequestsPerFeed: Int
        public var maxInFlightMessages: Int
        public var maxInFlightBytes: Int
        /// The 48-hour rule.
        public var maxAge: Duration
        /// How often a blocked feed is probed with the current credentials.
        public var authProbeInterval: Duration
        /// Count a record's age from when this run read it, not from its Kafka timestamp: `replay`
        /// and `dlq redrive` send old records on purpose, and the age limit then bounds their own
        /// delivery attempts.
        public var ageFromFirstRead = false
        /// Events whose `time` is older than this go to `/v2/bulkevents/historical` (mParticle's
        /// regular endpoints should not carry data older than 30 days).
        public var historicalAfter: Duration = .seconds(30 * 24 * 3600)
        /// Records this returns false for are settled unsent, counted as `filtered`
        /// (`dlq redrive --reason/--since`).
        public var recordFilter: (@Sendable (KafkaMessage) -> Bool)?
        /// The records are dead-letter records: decode with the source topic from their headers, and
        /// send only the one event a per-event record was parked for.
        public var redrive = false

        /// The defaults are the configuration's (`RelayConfiguration.DeliverySettings`), written
        /// once there: this copy of them had to be changed in step.
        public init(lingerMs: Int = RelayConfiguration.DeliverySettings().lingerMs,
                    maxInFlightRequestsPerFeed: Int = RelayConfiguration.DeliverySettings().maxInFlightRequestsPerFeed,
                    maxInFlightMessages: Int = RelayConfiguration.DeliverySettings().maxInFlightMessages,
                    maxInFlightBytes: Int = RelayConfiguration.DeliverySettings().maxInFlightBytes,
                    maxAge: Duration = RelayConfiguration.DeadLetterSettings().maxAge,
                    authProbeInterval: Duration = .milliseconds(RelayConfiguration.DeliverySettings().authProbeIntervalMs)) {
            self.lingerMs = lingerMs
            self.maxInFlightRequestsPerFeed = maxInFlightRequestsPerFeed
            self.maxInFlightMessages = maxInFlightMessages
            self.maxInFlightBytes = maxInFlightBytes
            self.maxAge = maxAge
            self.authProbeInterval = authProbeInterval
        }

        public init(_ configuration: RelayConfiguration) {
            let delivery = configuration.delivery
            self.init(lingerMs: delivery.lingerMs, maxInFlightRequestsPerFeed: delivery.maxInFlightRequestsPerFeed,
                      maxInFlightMessages: delivery.maxInFlightMessages, maxInFlightBytes: delivery.maxInFlightBytes,
                      maxAge: configuration.deadLetter.maxAge, authProbeInterval: .milliseconds(delivery.authProbeIntervalMs))
        }
    }

    /// A feed whose credentials mParticle refused.
    struct Blocked {
        var since: Int64
        var status: Int
        var probing = false
        var nextProbeAt: UInt64
    }

    private let source: any RecordSource
    private let sender: FeedSender
    private let deadLetters: any DeadLetterSink
    private let settings: Settings
    private let clock: any RelayClock
    private let logger: Logger
    public nonisolated let stats: RelayStats
    private let transform: RecordTransform

    /// The records taken and not yet settled: where each is in Kafka, not its bytes.
    private var tracker = OffsetTracker()
    private var batchers: FeedTable<FeedBatcher>
    /// Batches for `/v2/bulkevents/historical` (events older than `historicalAfter`).
    private var historicalBatchers: FeedTable<FeedBatcher>
    private var queued: [Feed: Deque<BulkRequest>] = [:]
    private var inFlight: [Feed: Int] = [:]
    private var blocked: [Feed: Blocked] = [:]
    private var tasks: [Int: Task<Void, Never>] = [:]
    private var nextTaskID = 0
    private var assigned: Set<TopicPartition> = []
    /// Partitions being revoked: their new records are not taken (the next owner reads them).
    private var revoking: Set<TopicPartition> = []
    private var paused = false
    private var stopping = false
    private var reportedSkips: Set<SkipReason> = []
    /// Cuts to mParticle's per-event limits are logged at most once a minute per event type.
    private var truncationLog = TruncationLog()
    private var idleWaiters: [CheckedContinuation<Void, Never>] = []
    private var lastSweep: UInt64 = 0

    public init(source: any RecordSource, mapper: EventMapper, sender: FeedSender, deadLetters: any DeadLetterSink,
                settings: Settings, clock: any RelayClock = SystemRelayClock(), stats: RelayStats, logger: Logger) {
        self.source = source
        self.sender = sender
        self.deadLetters = deadLetters
        self.settings = settings
        self.clock = clock
        self.stats = stats
        self.logger = logger
        self.transform = RecordTransform(mapper: mapper, maxAgeMs: settings.maxAge.milliseconds, historicalAfterMs: settings.historicalAfter.milliseconds,
                                         ageFromFirstRead: settings.ageFromFirstRead, redrive: settings.redrive)
        // A pool may hold as many open batches as the in-flight cap has records: that cap is the
        // memory bound, and a smaller pool would seal batches that could still grow.
        let maxOpenBatches = max(5_000, settings.maxInFlightMessages)
        // One batcher per input the router can send to: every input of its catalogue.
        batchers = FeedTable(feeds: mapper.router.feeds) { FeedBatcher(feed: $0, maxOpenBatches: maxOpenBatches) }
        historicalBatchers = FeedTable(feeds: mapper.router.feeds) { FeedBatcher(feed: $0, maxOpenBatches: maxOpenBatches, historical: true) }
    }

    private var maxAgeMs: Int64 { settings.maxAge.milliseconds }

    /// Records as the transform stage hands them to the actor: each batch with the task working
    /// out its outcomes and where it leaves them (in parts: joined, they are the records'
    /// outcomes in order), in the order the source gave them.
    enum Prepared: Sendable {
        case messages([KafkaMessage], Task<Void, Never>, OutcomeHandOff, wallNow: Int64)
        case other(KafkaConsumerEvent)
    }

    /// Consumes until the source ends (after `shutdown`, or when the consumer is closed).
    ///
    /// Two stages: the record transform (decode, map, encode: pure, most of the CPU per record)
    /// runs outside the actor, one task per batch the source hands over, and the actor does the
    /// bookkeeping (batching, offsets, requests). The actor takes the outcomes in the order the
    /// records came, so nothing about settling changes; the stages just run at once on every
    /// core. A batch's transform starts as soon as the source hands it over, not when the one
    /// before it is done: one stage of batches at a time left a core idle whenever the batch
    /// in hand ran short of work. The tasks and the stream between the stages hold no more than
    /// the source handed over (its buffer cap counts records until the actor has handled them).
    public func run() async {
        let ticker = Task { [weak self, clock, settings] in
            let interval = Duration.milliseconds(max(5, min(50, settings.lingerMs / 2)))
            while !Task.isCancelled {
                try? await clock.sleep(for: interval)
                await self?.tick()
            }
        }
        let (prepared, continuation) = AsyncStream.makeStream(of: Prepared.self)
        let transformer = Task.detached { [source, transform, clock] in
            for await event in source.events {
                guard case .messages(let messages) = event else {
                    continuation.yield(.other(event))
                    continue
                }
                let wallNow = clock.wallMilliseconds()
                let handOff = OutcomeHandOff()
                let task = Task { handOff.put(await Self.apply(transform, to: messages, wallNow: wallNow)) }
                continuation.yield(.messages(messages, task, handOff, wallNow: wallNow))
            }
            continuation.finish()
        }
        await withTaskCancellationHandler {
            for await item in prepared {
                switch item {
                case .messages(let messages, let task, let handOff, let wallNow):
                    await task.value
                    handle(messages, outcomes: handOff.take(), wallNow: wallNow)
                case .other(let event): handle(event)
                }
            }
        } onCancel: {
            transformer.cancel()
        }
        ticker.cancel()
    }

    /// Stops taking records, sends what is batched, waits up to `timeout` for in-flight requests
    /// and dead-letter writes, commits the stored offsets and leaves the group. Unsettled records
    /// are not committed, so a later run delivers them again.
    public func shutdown(timeout: Duration) async {
        guard !stopping else { return }
        stopping = true
        flushBatchers()
        let deadline = clock.monotonicNanoseconds() + UInt64(max(0, timeout.milliseconds)) * 1_000_000
        while !tasks.isEmpty || queued.values.contains(where: { !$0.isEmpty }), clock.monotonicNanoseconds() < deadline {
            // Blocked feeds cannot drain; stop waiting for them once nothing else is in flight.
            if tasks.isEmpty && queued.allSatisfy({ $0.value.isEmpty || blocked[$0.key] != nil }) { break }
            try? await Task.sleep(for: .milliseconds(20))
        }
        if !tasks.isEmpty || tracker.pendingRecords > 0 {
            logger.warning("stopping with unsettled records; they stay uncommitted and will be delivered again",
                           metadata: ["tasks": "\(tasks.count)", "records": "\(tracker.pendingRecords)"])
            tasks.values.forEach { $0.cancel() }
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
    /// The partitions this member owns now: assigned and not being revoked. A revocation starts
    /// with `drain`, called by the consumer before it gives the partitions up, and from then on no
    /// new record of theirs is taken; the `.revoked` event itself reaches the actor later, behind
    /// the records the transform stage still holds, so it cannot be what ends ownership here.
    public var assignedPartitions: Set<TopicPartition> { revoking.isEmpty ? assigned : assigned.subtracting(revoking) }
    public var isPaused: Bool { paused }

    /// Called before partitions are revoked: stop taking their records, send their batched events
    /// ahead of everything else, and wait up to `timeout` for their work to settle, so the commit
    /// that follows covers as much as possible and the next owner re-sends little.
    public func drain(_ partitions: [TopicPartition], timeout: Duration) async {
        revoking.formUnion(partitions)
        guard !stopping else { return }
        sendFirst(partitions)
        let deadline = clock.monotonicNanoseconds() + UInt64(max(0, timeout.milliseconds)) * 1_000_000
        while partitions.contains(where: { tracker.pending($0) > 0 }), clock.monotonicNanoseconds() < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        let left = partitions.reduce(0) { $0 + tracker.pending($1) }
        if left > 0 {
            logger.warning("drain timeout on revoke: records still unsettled; the next owner will send them again", metadata: [
                "partitions": "\(partitions.sorted())", "records": "\(left)",
            ])
        } else {
            logger.info("revoked partitions drained", metadata: ["partitions": "\(partitions.sorted())"])
        }
    }
    public var blockedFeeds: Set<Feed> { Set(blocked.keys) }

    /// Puts the partitions' work at the front of each feed's queue: first the queued requests that
    /// hold any of their events, then their open batches (`FeedBatcher.takeBatches`); everything
    /// else stays queued or open, in its order.
    ///
    /// Flushing every pool to the back of the queue instead made a revocation wait for the whole
    /// window under a rate limit (30,000 records are ~11 s of batches at 270 per second per feed,
    /// past the 10 s drain timeout), and the next owner sent again whatever had not settled.
    private func sendFirst(_ partitions: [TopicPartition]) {
        guard let holds = eventTest(partitions) else { return }
        for feed in batchers.feeds {
            // One pass over the queue, each request tested once, both parts in their order.
            var first: Deque<BulkRequest> = [], rest: Deque<BulkRequest> = []
            for request in queued[feed] ?? [] {
                if request.units.contains(where: holds) { first.append(request) } else { rest.append(request) }
            }
            first += batchers[feed].takeBatches(holding: holds)
            first += historicalBatchers[feed].takeBatches(holding: holds)
            guard !first.isEmpty else { continue }
            queued[feed] = first + rest
            dispatch(feed)
        }
    }

    /// Takes the partitions' events that were not sent out of the queues and the pools, once
    /// the partitions are gone: the new owner sends them from the committed offset, so sending
    /// them too would only spend the feed's rate limit on duplicates. Events already in flight
    /// cannot be called back; their results are dropped. Done before the tracker releases the
    /// partitions' slots, which a later assignment may reuse.
    private func dropUnsentWork(of partitions: [TopicPartition]) {
        guard let holds = eventTest(partitions) else { return }
        for feed in batchers.feeds {
            if let queue = queued[feed], queue.contains(where: { $0.units.contains(where: holds) }) {
                queued[feed] = Deque(queue.compactMap { $0.units.contains(where: holds) ? $0.partitioned(by: holds).rest : $0 })
            }
            _ = batchers[feed].takeEvents(where: holds)
            _ = historicalBatchers[feed].takeEvents(where: holds)
        }
    }

    /// Whether an event belongs to one of the partitions (by the tracker's slots, valid until
    /// they are revoked); nil when none of them has any record in the pipeline.
    private func eventTest(_ partitions: [TopicPartition]) -> ((EventUnit) -> Bool)? {
        let slots = Set(partitions.compactMap { tracker.slot(for: $0) })
        guard !slots.isEmpty else { return nil }
        return { slots.contains($0.ack.slot) }
    }

    private func flushBatchers() {
        for feed in batchers.feeds {
            for request in batchers[feed].takeAll() { enqueue(request) }
            for request in historicalBatchers[feed].takeAll() { enqueue(request) }
        }
    }

    private var isIdle: Bool {
        tracker.pendingRecords == 0 && tasks.isEmpty && batchers.all.allSatisfy(\.isEmpty)
            && historicalBatchers.all.allSatisfy(\.isEmpty)
    }

    // MARK: - Records

    private func handle(_ event: KafkaConsumerEvent) {
        switch event {
        case .messages(let messages):
            let wallNow = clock.wallMilliseconds()
            handle(messages, outcomes: [messages.map { transform.apply($0, wallNow: wallNow) }], wallNow: wallNow)
        case .assigned(let partitions):
            stats.rebalanced()
            assigned.formUnion(partitions)
            revoking.subtract(partitions)
        case .revoked(let partitions):
            stats.rebalanced()
            dropUnsentWork(of: partitions)
            for partition in partitions {
                assigned.remove(partition)
                let pending = tracker.pending(partition)
                if pending > 0 { stats.droppedForRevokedPartition(count: pending) }
                tracker.revoke(partition)
                revoking.remove(partition)
            }
            notifyIfIdle()
        case .error:
            break
        }
    }

    /// The transform of a batch of records, outcomes in record order, in parts. A large batch is
    /// split in two halves transformed at once (the transform is pure), so the stage can use a
    /// second core. The halves are not joined into one array: that copied every outcome (a
    /// retain and a release per field) only to read it once.
    static func apply(_ transform: RecordTransform, to messages: [KafkaMessage], wallNow: Int64) async -> [[RecordTransform.Outcome]] {
        guard messages.count >= 64 else { return [messages.map { transform.apply($0, wallNow: wallNow) }] }
        let middle = messages.count / 2
        async let first = messages[..<middle].map { transform.apply($0, wallNow: wallNow) }
        let second = messages[middle...].map { transform.apply($0, wallNow: wallNow) }
        return await [first, second]
    }

    /// Takes records whose transform outcomes are ready: `outcomes`, joined, are the records'
    /// outcomes in order.
    private func handle(_ messages: [KafkaMessage], outcomes: consuming [[RecordTransform.Outcome]], wallNow: Int64) {
        defer { source.handled(messages.count) }
        guard !stopping else { return }
        // A record without an outcome would never be tracked, and the watermark would pass it as
        // a gap: better to stop than to commit past an undelivered record.
        precondition(outcomes.reduce(0) { $0 + $1.count } == messages.count, "every record has an outcome")
        if let topic = messages.first?.topic, messages.allSatisfy({ $0.topic == topic }) {
            stats.consumed(records: messages.count, topic: topic)
        } else {
            for (topic, group) in Dictionary(grouping: messages, by: \.topic) { stats.consumed(records: group.count, topic: topic) }
        }
        let now = clock.monotonicNanoseconds()
        var index = messages.startIndex
        // Counted here and added once: the stats take a lock per call.
        var decoded = 0
        // The outcomes are this call's alone (see `OutcomeHandOff`): each is taken apart in place,
        // its parts moved on, not copied. Iterating, or reading `part[item]`, copied each one.
        for partIndex in outcomes.indices {
            var part: [RecordTransform.Outcome] = []
            swap(&part, &outcomes[partIndex])
            for item in part.indices {
                take(messages[index], &part[item], now: now, wallNow: wallNow, decoded: &decoded)
                index += 1
            }
        }
        if decoded > 0 { stats.decoded(events: decoded) }
        store(tracker.takeMovedWatermarks())
        applyBackpressure()
        notifyIfIdle()
    }

    /// Takes one record and its outcome; the outcome's sends are moved into the batchers.
    private func take(_ message: KafkaMessage, _ outcome: inout RecordTransform.Outcome, now: UInt64, wallNow: Int64, decoded: inout Int) {
        if !revoking.isEmpty && revoking.contains(message.topicPartition) { return }
        if let filter = settings.recordFilter, !filter(message) {
            stats.skipped(.filtered)
            _ = tracker.advance(tracker.add(message.topicPartition, offset: message.offset, events: 0, bytes: message.byteCount))
            return
        }
        decoded += outcome.decodedEvents
        if !outcome.truncations.isEmpty { truncated(outcome.truncations, now: now) }
        for (reason, eventType) in outcome.skips { skip(reason, message: message, detail: eventType) }
        let count = outcome.unitCount
        // What is held until the record settles: its events' encoded bytes in the batchers (and
        // the record itself, for a park now). The record is not kept: a park after a send
        // reads it again from Kafka (`RecordLocation`).
        let held = outcome.sendBytes + (outcome.parks.isEmpty ? 0 : message.byteCount)
        let ack = tracker.add(message.topicPartition, offset: message.offset, events: count, bytes: held, timestampMs: message.timestampMs)
        guard count > 0 else {
            _ = tracker.advance(ack)
            return
        }
        for details in outcome.parks {
            var details = details
            details.parkedMs = wallNow
            park(message, details, ack: ack)
        }
        let shares = count > 1
        let base = outcome.ageBaseMs ?? wallNow
        outcome.sends.updateEach { event in
            // The id is needed only to name one event of several in a dead-letter record; left
            // out otherwise, it is one string fewer to copy with every unit.
            let unit = EventUnit(ack: ack, ageBaseMs: base, eventID: shares ? event.eventID : "", sharesRecord: shares)
            // Moved out by hand: passing `event.header` and `event.payload` copied the whole send.
            var header: [UInt8] = [], payload: [UInt8] = []
            swap(&header, &event.header)
            swap(&payload, &event.payload)
            let request = event.historical
                ? historicalBatchers[event.feed].add(header: consume header, headerHash: event.headerHash, event: consume payload, unit: unit, now: now)
                : batchers[event.feed].add(header: consume header, headerHash: event.headerHash, event: consume payload, unit: unit, now: now)
            if let request { enqueue(request) }
        }
    }

    /// Counts every cut (by feed and kind) and logs some (see `TruncationLog`).
    private func truncated(_ events: [RecordTransform.Truncated], now: UInt64) {
        for event in events {
            stats.truncated(feed: event.feed, event.cuts)
            guard let line = truncationLog.note(eventType: event.eventType, feed: event.feed, eventID: event.eventID, cuts: event.cuts, nowNs: now) else { continue }
            logger.warning("cut custom attributes to mParticle's per-event limits (100 attributes, names ≤ 256, values ≤ 4,096 characters); logged at most once a minute per event type, every cut is counted in currents_relay_attributes_truncated_total", metadata: [
                "event_type": "\(line.eventType.prefix(200))", "feed": "\(line.feed)", "event_id": "\(line.eventID.prefix(200))",
                "events": "\(line.events)", "attributes_left_out": "\(line.cuts.count)",
                "names_cut": "\(line.cuts.nameLength)", "values_cut": "\(line.cuts.valueLength)",
            ])
        }
    }

    private func skip(_ reason: SkipReason, message: KafkaMessage, detail: String) {
        stats.skipped(reason)
        // Built only when a line is written: most skips are not logged at the default level,
        // and building the metadata for each was a measurable share of the actor's time.
        func metadata() -> Logger.Metadata {
            ["reason": "\(reason)", "topic": "\(message.topic)", "partition": "\(message.partition)",
             "offset": "\(message.offset)", "detail": "\(detail.prefix(200))"]
        }
        if reportedSkips.insert(reason).inserted {
            logger.info("skipping events (first of this reason; later ones are logged at debug and counted)", metadata: metadata())
        } else {
            logger.debug("skipped event", metadata: metadata())
        }
    }

    // MARK: - Dead letters

    private func park(_ message: KafkaMessage, _ details: DeadLetterDetails, ack: RecordAck) {
        let sink = deadLetters
        startTask { [weak self] in
            do {
                try await sink.park(message, details)
                await self?.parked(ack, details, message: message)
            } catch {
                // Cancelled at shutdown: unsettled, so delivered again later.
            }
        }
    }

    private func parked(_ ack: RecordAck, _ details: DeadLetterDetails, message: KafkaMessage) {
        stats.parked(details.reason, feed: details.feed)
        if details.originalGone {
            stats.parkedWithoutOriginal(details.reason, feed: details.feed)
            logger.warning("the source record was gone from Kafka (retention) when it was read again to be parked; parked the event's mParticle batch in its place (header currents.relay.original=gone)", metadata: [
                "reason": "\(details.reason.rawValue)", "source": "\(message.topicPartition)@\(message.offset)",
                "feed": "\(details.feed?.rawValue ?? "-")",
            ])
        }
        logger.warning("parked in the dead-letter topic", metadata: [
            "reason": "\(details.reason.rawValue)", "source": "\(message.topicPartition)@\(message.offset)",
            "feed": "\(details.feed?.rawValue ?? "-")", "status": "\(details.httpStatus.map(String.init) ?? "-")",
            "detail": "\(details.message.prefix(300))",
        ])
        settle(CollectionOfOne(ack))
    }

    /// Parks the events of a request, one dead-letter record per event.
    ///
    /// The relay keeps only where each record is (`RecordLocation`), so the records are first read
    /// again from Kafka, all of the request's in one read, and parked as they came. A record gone
    /// from Kafka meanwhile (retention) is parked as what the relay still has: the event's
    /// mParticle batch, marked `currents.relay.original: gone` and counted.
    private func park(_ request: BulkRequest, reason: DeadLetterReason, status: Int?, message text: String) {
        let wallNow = clock.wallMilliseconds()
        var parks: [PendingPark] = []
        parks.reserveCapacity(request.eventCount)
        for item in request.flattened {
            guard let location = tracker.location(item.unit.ack) else {
                stats.droppedForRevokedPartition(count: 1)
                continue
            }
            parks.append(PendingPark(
                location: location, ack: item.unit.ack, batch: EncodedBatch(header: item.header, events: [item.event]),
                details: DeadLetterDetails(reason: reason, message: text, feed: request.feed, httpStatus: status,
                                           eventID: item.unit.sharesRecord ? item.unit.eventID : nil,
                                           firstAttemptMs: request.firstAttemptMs, parkedMs: wallNow)))
        }
        guard !parks.isEmpty else { return }
        let pending = parks
        let source = self.source, sink = deadLetters, stats = self.stats, logger = self.logger
        startTask { [weak self] in
            guard let originals = await Self.reread(pending.map(\.location), from: source, stats: stats, logger: logger) else { return }
            await withTaskGroup(of: Void.self) { group in
                for var park in pending {
                    let original = originals[park.location.topicPartition]?[park.location.offset].flatMap { park.location.isRecord($0) ? $0 : nil }
                    if original == nil { park.details.originalGone = true }
                    let record = original ?? DeadLetterRecord.standIn(for: park.location, batch: park.batch)
                    group.addTask {
                        do {
                            try await sink.park(record, park.details)
                            await self?.parked(park.ack, park.details, message: record)
                        } catch {
                            // Cancelled at shutdown: unsettled, so delivered again later.
                        }
                    }
                }
            }
        }
    }

    /// One event of a request on its way to the dead-letter topic.
    struct PendingPark: Sendable {
        var location: RecordLocation
        var ack: RecordAck
        /// The event's mParticle batch: parked in place of the record if the record is gone.
        var batch: EncodedBatch
        var details: DeadLetterDetails
    }

    /// Reads the records at `locations` again, trying until the brokers answer; nil when cancelled
    /// (shutdown: the records stay unsettled and are delivered again by the next owner).
    static func reread(_ locations: [RecordLocation], from source: any RecordSource, stats: RelayStats, logger: Logger) async -> [TopicPartition: [Int64: KafkaMessage]]? {
        let offsets = Dictionary(grouping: locations, by: \.topicPartition).mapValues { $0.map(\.offset) }
        let backoff = Backoff(baseMs: 200, capMs: 10_000)
        var attempt = 0
        while !Task.isCancelled {
            do {
                let found = try await source.reread(offsets)
                stats.reread(records: Set(locations).count)
                return found
            } catch {
                // Nothing is lost: the records stay unsettled, and their partitions wait here.
                stats.rereadFailed()
                logger.error("cannot read records again from Kafka to park them; holding their offsets and retrying", metadata: [
                    "records": "\(locations.count)", "first": "\(locations[0].topicPartition)@\(locations[0].offset)",
                    "error": "\(error)", "attempt": "\(attempt + 1)",
                ])
                do { try await Task.sleep(for: backoff.delay(attempt: attempt)) } catch { return nil }
                attempt += 1
            }
        }
        return nil
    }

    static func describeAge(_ milliseconds: Int64) -> String {
        let hours = Double(milliseconds) / 3_600_000
        return hours >= 1 ? String(format: "%.1f h", hours) : "\(milliseconds / 1000) s"
    }

    // MARK: - Requests

    /// How long a feed's oldest batch waits for more events before it is sent. Zero while intake
    /// is paused at the in-flight cap: no record can arrive to join an open batch then, so waiting
    /// would only stall the pipeline (a backlog drained at in-flight cap ÷ linger time).
    private var lingerNanoseconds: UInt64 { paused ? 0 : UInt64(max(0, settings.lingerMs)) * 1_000_000 }

    private func tick() {
        let now = clock.monotonicNanoseconds()
        if now &- lastSweep >= 1_000_000_000 {
            lastSweep = now
            sweepExpired()
        }
        for feed in batchers.feeds { dispatch(feed) }
    }

    /// Parks events that passed the age limit while waiting to be sent: queued, or still in a
    /// feed's pool (a blocked feed holds both; so does a feed whose send slots are all taken).
    private func sweepExpired() {
        let cutoff = clock.wallMilliseconds() - maxAgeMs
        for feed in batchers.feeds {
            let message = "not accepted by mParticle within \(Self.describeAge(maxAgeMs))\(blocked[feed] != nil ? " (the \(feed) feed is blocked: credentials refused)" : "")"
            for expired in [batchers[feed].takeExpired(before: cutoff), historicalBatchers[feed].takeExpired(before: cutoff)].compactMap({ $0 }) {
                park(expired, reason: .expired, status: blocked[feed]?.status, message: message)
            }
            guard let queue = queued[feed], !queue.isEmpty, queue.contains(where: { $0.oldestAgeBaseMs < cutoff }) else { continue }
            var kept: Deque<BulkRequest> = []
            for request in queue {
                let (expired, rest) = request.partitioned { $0.ageBaseMs < cutoff }
                if let expired { park(expired, reason: .expired, status: blocked[feed]?.status, message: message) }
                if let rest { kept.append(rest) }
            }
            queued[feed] = kept
        }
    }

    private func enqueue(_ request: BulkRequest, front: Bool = false) {
        if front {
            queued[request.feed, default: []].prepend(request)
        } else {
            queued[request.feed, default: []].append(request)
        }
        dispatch(request.feed)
    }

    private func dispatch(_ feed: Feed) {
        if let state = blocked[feed] {
            // Blocked: one probe at a time, every probe interval, with the current credentials.
            guard !state.probing, clock.monotonicNanoseconds() >= state.nextProbeAt,
                  let request = queued[feed]?.popFirst() ?? takeLingered(feed) else { return }
            blocked[feed]!.probing = true
            send(request, probe: true)
            return
        }
        while inFlight[feed, default: 0] < settings.maxInFlightRequestsPerFeed, let request = queued[feed]?.popFirst() ?? takeLingered(feed) {
            send(request, probe: false)
        }
    }

    /// A request of the feed's lingered batches, taken only when it can be sent: until then the
    /// batches stay open in the pool and later events of their users join them, instead of
    /// waiting sealed in the queue (what keeps batches per event low when sending is the
    /// bottleneck: a rate limit, a slow mParticle). The pool whose oldest batch is older goes first.
    private func takeLingered(_ feed: Feed) -> BulkRequest? {
        let now = clock.monotonicNanoseconds()
        let regular = batchers[feed].oldestCreatedAt ?? .max
        let historical = historicalBatchers[feed].oldestCreatedAt ?? .max
        return historical < regular
            ? historicalBatchers[feed].takeLingeredRequest(now: now, linger: lingerNanoseconds)
            : batchers[feed].takeLingeredRequest(now: now, linger: lingerNanoseconds)
    }

    private func send(_ request: BulkRequest, probe: Bool) {
        var request = request
        if request.firstAttemptMs == nil { request.firstAttemptMs = clock.wallMilliseconds() }
        inFlight[request.feed, default: 0] += 1
        let sender = self.sender
        let attempt = request
        startTask { [weak self] in
            do {
                let outcome = try await sender.deliver(attempt)
                await self?.completed(attempt, outcome: outcome, probe: probe)
            } catch {
                await self?.cancelled(attempt, probe: probe)
            }
        }
    }

    private func cancelled(_ request: BulkRequest, probe: Bool) {
        inFlight[request.feed, default: 1] -= 1
        if probe { blocked[request.feed]?.probing = false }
    }

    private func completed(_ request: BulkRequest, outcome: DeliveryOutcome, probe: Bool) {
        let feed = request.feed
        inFlight[feed, default: 1] -= 1
        if probe { blocked[feed]?.probing = false }
        switch outcome {
        case .accepted:
            if blocked[feed] != nil { unblock(feed) }
            let now = clock.wallMilliseconds()
            stats.accepted(feed: feed, events: request.eventCount, batches: request.batches.count, latenciesMs: request.units.map { now - $0.ageBaseMs })
            // Lazily: an array of acks per request was one allocation and a copy per event.
            settle(request.units.lazy.map(\.ack))
        case .rejected(let status, let body):
            if blocked[feed] != nil { unblock(feed) }
            if let (first, second) = request.halves() {
                logger.info("mParticle refused a request; splitting it to find the refused events", metadata: [
                    "feed": "\(feed)", "status": "\(status)", "events": "\(request.eventCount)", "body": "\(body.prefix(300))",
                ])
                enqueue(second, front: true)
                enqueue(first, front: true)
            } else {
                park(request, reason: .rejected, status: status, message: body.isEmpty ? "mParticle answered \(status)" : body)
            }
        case .unauthorized(let status, let body):
            block(feed, status: status, body: body)
            enqueue(request, front: true)
        case .expired:
            let cutoff = clock.wallMilliseconds() - maxAgeMs
            let (expired, rest) = request.partitioned { $0.ageBaseMs < cutoff }
            if let expired {
                park(expired, reason: .expired, status: nil, message: "not accepted by mParticle within \(Self.describeAge(maxAgeMs))")
            }
            if let rest { enqueue(rest, front: true) }
        }
        dispatch(feed)
        notifyIfIdle()
    }

    private func block(_ feed: Feed, status: Int, body: String) {
        let next = clock.monotonicNanoseconds() + UInt64(settings.authProbeInterval.milliseconds) * 1_000_000
        if blocked[feed] == nil {
            blocked[feed] = Blocked(since: clock.wallMilliseconds(), status: status, nextProbeAt: next)
            stats.feedBlocked(feed, true, atMs: clock.wallMilliseconds())
            logger.error("feed blocked: mParticle refused its credentials; holding its events and probing with the current credentials", metadata: [
                "feed": "\(feed)", "status": "\(status)", "probe_every_ms": "\(settings.authProbeInterval.milliseconds)",
                "body": "\(body.prefix(300))",
            ])
        } else {
            blocked[feed]!.nextProbeAt = next
            blocked[feed]!.status = status
        }
    }

    private func unblock(_ feed: Feed) {
        guard let state = blocked.removeValue(forKey: feed) else { return }
        stats.feedBlocked(feed, false)
        logger.notice("feed unblocked: mParticle accepted its credentials again", metadata: [
            "feed": "\(feed)", "blocked_for": "\(Self.describeAge(clock.wallMilliseconds() - state.since))",
        ])
    }

    private func settle(_ acks: some Sequence<RecordAck>) {
        for ack in acks { _ = tracker.settle(ack) }
        store(tracker.takeMovedWatermarks())
        applyBackpressure()
        notifyIfIdle()
    }

    private func startTask(_ work: @escaping @Sendable () async -> Void) {
        let id = nextTaskID
        nextTaskID += 1
        tasks[id] = Task { [weak self] in
            await work()
            await self?.finished(id)
        }
    }

    private func finished(_ id: Int) {
        tasks[id] = nil
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
        stats.inFlight(records: pending, bytes: bytes, pausedPartitions: paused ? assigned.count : 0)
        if !paused && (pending >= settings.maxInFlightMessages || bytes >= settings.maxInFlightBytes) {
            paused = true
            logger.debug("in-flight cap reached; pausing partitions", metadata: ["records": "\(pending)", "bytes": "\(bytes)"])
            source.setPaused(true)
            // Nothing more can join the open batches: send them as slots allow, not at the next tick.
            for feed in batchers.feeds { dispatch(feed) }
        } else if paused && pending <= settings.maxInFlightMessages / 2 && bytes <= settings.maxInFlightBytes / 2 {
            paused = false
            logger.debug("below low-water mark; resuming partitions", metadata: ["records": "\(pending)", "bytes": "\(bytes)"])
            source.setPaused(false)
        }
    }

    private func notifyIfIdle() {
        guard isIdle, !idleWaiters.isEmpty else { return }
        let waiters = idleWaiters
        idleWaiters = []
        waiters.forEach { $0.resume() }
    }
}
